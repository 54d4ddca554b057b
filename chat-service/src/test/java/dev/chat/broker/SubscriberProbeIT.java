package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RespClient;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The standalone subscriber's liveness probe, against a real Redis: probes that do not come back
 * reset the subscriber (and the broker resyncs), while a loop that was itself held up is not taken
 * for a deaf subscriber.
 */
class SubscriberProbeIT {

  // CHAT_NODE_LEASE_MS 1000: a probe every 200 ms, a reset after 3 unanswered and 600 ms.
  private static final Map<String, String> FAST_PROBE = Map.of("CHAT_NODE_LEASE_MS", "1000");

  private RedisBackends redis;
  private Vertx vertx;
  private BrokerNode node;

  @BeforeEach
  void start() {
    redis = new RedisBackends();
    vertx = Vertx.vertx();
    node = BrokerNode.start(vertx, redis.backends(FAST_PROBE));
    redis.settled(node);
  }

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
    redis.close();
  }

  @Test
  void aLoopHeldUpLongerThanTheProbesTimeoutDoesNotResetItsSubscriber() throws Exception {
    String channel = RedisKeys.probe(redis.owner(node));
    try (RespClient watcher = RespClient.connect(redis.redis.host(), redis.redis.port())) {
      watcher.call("SUBSCRIBE", channel); // answered by the subscribe confirmation
      // The loop is held for 1.5 s (a long pause, a burst of work): past the 600 ms of silence
      // after which a subscriber would be reset, with no turn of the loop to read the probe's echo.
      node.call(
          b -> {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
            while (System.nanoTime() < end) {
              Thread.onSpinWait();
            }
            return Future.succeededFuture();
          });
      // Five more probes published: five turns of the probe timer since the loop was free again.
      for (int i = 0; i < 5; i++) {
        List<?> push = (List<?>) watcher.read(Duration.ofSeconds(5));
        assertThat(push).as("a probe published on %s", channel).isNotNull();
      }
    }
    assertThat(node.resyncs()).as("resyncs: the subscriber was never reset").isZero();
  }

  @Test
  void probesThatDoNotComeBackResetTheSubscriber() throws Exception {
    // PUBLISH waits out a CLIENT PAUSE WRITE: no probe comes back for 2 s, then the subscriber is
    // reset, reconnects, and the broker resyncs.
    try (RespClient admin = RespClient.connect(redis.redis.host(), redis.redis.port())) {
      admin.call("CLIENT", "PAUSE", "2000", "WRITE");
    }
    BrokerNode.waitUntil(
        "a resync after the reset", Duration.ofSeconds(10), () -> node.resyncs() > 0);
    assertThat(node.resyncs()).isPositive();
  }
}
