package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static dev.chat.broker.BrokerNode.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RespClient;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The connection counter contract against Redis, plus the reaping of a node that died. */
@DisplayName("The Redis connection counter keeps the counter contract and outlives a dead node")
class RedisConnectionCounterContractIT extends ConnectionCounterContractTest {

  /**
   * The short lease of the dead-node test. Only that test uses it: the subscriber's liveness probe
   * runs at a fifth of the lease and gives up after three silent periods, which a loaded 2-core
   * machine can exceed with a 1.5 s lease; the other tests keep the default.
   */
  private static final long LEASE_MS = 1_500;

  /** Lease renewals run every third of the lease; a survivor notices within one more renewal. */
  private static final Duration REAPED_WITHIN = Duration.ofMillis(LEASE_MS + LEASE_MS / 3 + 1_500);

  @RegisterExtension final RedisBackends redis = new RedisBackends();

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return redis.backends(settings);
  }

  @Override
  protected void settled(BrokerNode node) {
    redis.settled(node);
  }

  @Test
  @DisplayName(
      "when a broker dies without a goodbye, its slots are given back once its lease runs out")
  void deadBrokersSlotsAreFreed() {
    Cluster cluster = cluster(Map.of("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS)));
    BrokerNode survivor = cluster.node();
    Vertx doomedVertx = Vertx.vertx();
    BrokerNode doomed = cluster.node(doomedVertx);
    String key = "user:" + user();
    assertThat(doomed.acquire(key, 2)).isTrue();
    assertThat(doomed.acquire(key, 2)).isTrue();
    assertThat(survivor.acquire(key, 2)).isFalse();

    doomed.forget();
    await(
        doomedVertx.close().toCompletionStage().toCompletableFuture(), "closing the doomed Vert.x");
    waitUntil("the dead broker's slots given back", REAPED_WITHIN, () -> survivor.acquire(key, 2));
    assertThat(survivor.acquire(key, 2)).isTrue();
    assertThat(survivor.acquire(key, 2)).isFalse();
    try (RespClient client = redis.redis.client()) {
      assertThat(client.call("EXISTS", "chat:owner:{" + redis.owner(doomed) + "}:slots"))
          .as("the dead owner's slot list")
          .isEqualTo(0L);
    }
  }
}
