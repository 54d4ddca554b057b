package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Presence;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The presence contract against Redis, plus the reaping of a node that died. */
@DisplayName("The Redis presence keeps the presence contract and outlives a dead node")
class RedisPresenceContractIT extends PresenceContractTest {

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
      "when a broker dies without a goodbye, a survivor announces the leaves of its users once its lease runs out")
  void deadBrokersUsersLeave() {
    Cluster cluster = cluster(Map.of("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS)));
    BrokerNode survivor = cluster.node();
    Vertx doomedVertx = Vertx.vertx();
    BrokerNode doomed = cluster.node(doomedVertx);
    String r = room();
    String lonely = user();
    String shared = user();
    survivor.subscribe(r);
    doomed.join(r, lonely, latest(0));
    doomed.join(r, shared, latest(0));
    survivor.join(r, shared, latest(0));
    survivor.awaitPresence(r, "join", shared);

    // A dead node: its timers and connections stop with its Vert.x, and close() never runs.
    doomed.forget();
    await(
        doomedVertx.close().toCompletionStage().toCompletableFuture(), "closing the doomed Vert.x");
    survivor.awaitPresence(r, "leave", lonely, REAPED_WITHIN);

    survivor.call(backend -> backend.presence().leave(r, shared));
    assertThat(survivor.awaitPresence(r, "leave", shared))
        .containsExactly(
            new Presence(r, "join", lonely, 1), new Presence(r, "join", shared, 2),
            new Presence(r, "leave", lonely, 1), new Presence(r, "leave", shared, 0));
  }
}
