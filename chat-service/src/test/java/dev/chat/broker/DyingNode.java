package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Map;

/**
 * A node that dies without a goodbye, for the Redis contract suites' reaping tests: it runs on a
 * Vert.x of its own, so that closing that Vert.x stops its timers and connections while {@code
 * close()} never runs.
 */
final class DyingNode {

  /**
   * The short lease of the dead-node tests. Only they use it: the subscriber's liveness probe runs
   * at a fifth of the lease and gives up after three silent periods, which a loaded 2-core machine
   * can exceed with a 1.5 s lease; the other tests keep the default.
   */
  static final long LEASE_MS = 1_500;

  /** Lease renewals run every third of the lease; a survivor notices within one more renewal. */
  static final Duration REAPED_WITHIN = Duration.ofMillis(LEASE_MS + LEASE_MS / 3 + 1_500);

  /** The settings of a cluster whose nodes hold the short lease. */
  static final Map<String, String> SHORT_LEASE =
      Map.of("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS));

  private final Vertx vertx;
  final BrokerNode node;

  private DyingNode(Vertx vertx, BrokerNode node) {
    this.vertx = vertx;
    this.node = node;
  }

  /** A started node of {@code cluster}, on a Vert.x of its own. */
  static DyingNode start(BackendContract.Cluster cluster) {
    Vertx vertx = Vertx.vertx();
    return new DyingNode(vertx, cluster.node(vertx));
  }

  /** Kills the node: its timers and connections stop with its Vert.x, and close() never runs. */
  void die() {
    node.forget();
    await(vertx.close().toCompletionStage().toCompletableFuture(), "closing the doomed Vert.x");
  }
}
