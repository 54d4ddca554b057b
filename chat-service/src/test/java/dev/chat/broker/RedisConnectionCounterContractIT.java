package dev.chat.broker;

import static dev.chat.broker.BrokerNode.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RespClient;
import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The connection counter contract against Redis, plus the reaping of a node that died. */
@DisplayName("The Redis connection counter keeps the counter contract and outlives a dead node")
class RedisConnectionCounterContractIT extends ConnectionCounterContractTest {

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
    Cluster cluster = cluster(DyingNode.SHORT_LEASE);
    BrokerNode survivor = cluster.node();
    DyingNode dying = DyingNode.start(cluster);
    BrokerNode doomed = dying.node;
    String key = "user:" + user();
    assertThat(doomed.acquire(key, 2)).isTrue();
    assertThat(doomed.acquire(key, 2)).isTrue();
    assertThat(survivor.acquire(key, 2)).isFalse();

    dying.die();
    waitUntil(
        "the dead broker's slots given back",
        DyingNode.REAPED_WITHIN,
        () -> survivor.acquire(key, 2));
    assertThat(survivor.acquire(key, 2)).isTrue();
    assertThat(survivor.acquire(key, 2)).isFalse();
    try (RespClient client = redis.redis.client()) {
      assertThat(client.call("EXISTS", "chat:owner:{" + redis.owner(doomed) + "}:slots"))
          .as("the dead owner's slot list")
          .isEqualTo(0L);
    }
  }
}
