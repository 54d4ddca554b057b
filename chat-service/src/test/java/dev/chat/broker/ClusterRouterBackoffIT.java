package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RedisServer;
import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
@DisplayName("ClusterRouter backs off its topology reads while they fail")
class ClusterRouterBackoffIT {

  @Test
  @DisplayName(
      "commands every 5 ms for 1.5 s against a seed that cannot give a topology start a handful of"
          + " reads, not one per command, and every command fails as unavailable")
  void failedReadsBackOff() {
    Vertx vertx = Vertx.vertx();
    // A real Redis without cluster support: CLUSTER SHARDS fails at once, as a starved or
    // half-up cluster does.
    try (RedisServer redis = RedisServer.start();
        TestLoop loop = TestLoop.on(vertx)) {
      ClusterRouter router =
          loop.call(() -> new ClusterRouter(vertx, List.of(redis.uri()), 2_000, 60_000, 0, 1_000));
      AtomicInteger unavailable = new AtomicInteger();
      AtomicInteger sent = new AtomicInteger();
      loop.run(
          () ->
              router
                  .start()
                  .onComplete(
                      ar -> assertThat(ar.failed()).as("start without a topology").isTrue()));
      loop.run(
          () ->
              vertx.setPeriodic(
                  5,
                  t -> {
                    if (sent.incrementAndGet() >= 300) {
                      vertx.cancelTimer(t);
                    }
                    router
                        .send(Request.cmd(Command.GET).arg("{room}:x"))
                        .onFailure(
                            e -> {
                              if (e instanceof BrokerUnavailableException) {
                                unavailable.incrementAndGet();
                              }
                            });
                  }));
      loop.pass(1_700);
      loop.drain();
      long reads = loop.call(router::topologyReads);
      assertThat(sent.get()).isGreaterThanOrEqualTo(300);
      assertThat(unavailable.get()).isEqualTo(sent.get());
      // 100, 200, 400, 800 ms apart: the start's read and about four retries in 1.5 s.
      assertThat(reads).isBetween(2L, 8L);
      loop.run(router::close);
    } finally {
      vertx.close();
    }
  }
}
