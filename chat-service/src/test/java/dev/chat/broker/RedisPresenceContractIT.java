package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Presence;
import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The presence contract against Redis, plus the reaping of a node that died. */
@DisplayName("The Redis presence keeps the presence contract and outlives a dead node")
class RedisPresenceContractIT extends PresenceContractTest {

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
      "when a broker dies without a goodbye, a survivor announces the leaves of its users once its lease runs out")
  void deadBrokersUsersLeave() {
    Cluster cluster = cluster(DyingNode.SHORT_LEASE);
    BrokerNode survivor = cluster.node();
    DyingNode dying = DyingNode.start(cluster);
    BrokerNode doomed = dying.node;
    String r = room();
    String lonely = user();
    String shared = user();
    survivor.subscribe(r);
    doomed.join(r, lonely, latest(0));
    doomed.join(r, shared, latest(0));
    survivor.join(r, shared, latest(0));
    survivor.awaitPresence(r, "join", shared);

    dying.die();
    survivor.awaitPresence(r, "leave", lonely, DyingNode.REAPED_WITHIN);

    survivor.call(backend -> backend.presence().leave(r, shared));
    assertThat(survivor.awaitPresence(r, "leave", shared))
        .containsExactly(
            new Presence(r, "join", lonely, 1), new Presence(r, "join", shared, 2),
            new Presence(r, "leave", lonely, 1), new Presence(r, "leave", shared, 0));
  }
}
