package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the cluster's topology from the first node that answers: the configured seeds in order,
 * then the nodes the last topology named (so a cluster whose seeds have all been replaced stays
 * reachable). A node with a partial view (it just restarted, or lost its majority) is passed over
 * for one that sees every slot served, and so is a node whose {@code cluster_state} is not {@code
 * ok}: a master cut off from the majority still names itself the master of its slots after a
 * replica on the majority side took them over, and only its state tells it is stale.
 */
final class ClusterTopologyReader {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterTopologyReader.class);

  private final NodeCommands nodes;
  private final List<RedisAddress> seeds;
  private ClusterTopology last;
  private boolean shardsUnknown;

  ClusterTopologyReader(NodeCommands nodes, List<RedisAddress> seeds) {
    if (seeds.isEmpty()) {
      throw new IllegalArgumentException("a cluster needs at least one seed");
    }
    this.nodes = nodes;
    this.seeds = List.copyOf(seeds);
  }

  /** The topology as the first node with a whole view tells it; fails if no node answers. */
  Future<ClusterTopology> read() {
    Set<RedisAddress> candidates = new LinkedHashSet<>(seeds);
    if (last != null) {
      last.shards()
          .forEach(
              s -> {
                candidates.add(s.master());
                candidates.addAll(s.replicas());
              });
    }
    return tryEach(new ArrayList<>(candidates), 0, null, null).onSuccess(t -> last = t);
  }

  private Future<ClusterTopology> tryEach(
      List<RedisAddress> candidates, int i, ClusterTopology partial, Throwable lastError) {
    if (i == candidates.size()) {
      if (partial != null) {
        return Future.succeededFuture(partial);
      }
      return Future.failedFuture(
          new BrokerUnavailableException(
              "no Redis Cluster node answered: "
                  + (lastError == null ? "none tried" : lastError.getMessage())));
    }
    RedisAddress node = candidates.get(i);
    return stateOk(node)
        .compose(ok -> readFrom(node).map(t -> new View(t, ok)))
        .compose(
            view -> {
              ClusterTopology t = view.topology();
              if (!view.stateOk()) {
                LOG.debug("{} reports a cluster state that is not ok; asking the next node", node);
                return tryEach(candidates, i + 1, partial == null ? t : partial, lastError);
              }
              if (t.coveredSlots() == Slots.COUNT) {
                return Future.succeededFuture(t);
              }
              LOG.debug("{} serves only {} slots; asking the next node", node, t.coveredSlots());
              ClusterTopology better =
                  partial == null || t.coveredSlots() > partial.coveredSlots() ? t : partial;
              return tryEach(candidates, i + 1, better, lastError);
            },
            e -> tryEach(candidates, i + 1, partial, e));
  }

  private record View(ClusterTopology topology, boolean stateOk) {}

  /** Whether {@code node}'s {@code CLUSTER INFO} says {@code cluster_state:ok}. */
  private Future<Boolean> stateOk(RedisAddress node) {
    return nodes
        .send(node, Request.cmd(Command.CLUSTER).arg("INFO"))
        .map(r -> r != null && r.toString().contains("cluster_state:ok"));
  }

  private Future<ClusterTopology> readFrom(RedisAddress node) {
    if (shardsUnknown) {
      return slots(node);
    }
    return nodes
        .send(node, Request.cmd(Command.CLUSTER).arg("SHARDS"))
        .map(r -> ClusterTopology.fromShards(r, node.host()))
        .recover(
            e -> {
              // CLUSTER SHARDS is new in Redis 7.0; older servers answer "unknown subcommand".
              if (String.valueOf(e.getMessage()).contains("nknown subcommand")) {
                shardsUnknown = true;
                return slots(node);
              }
              return Future.failedFuture(e);
            });
  }

  private Future<ClusterTopology> slots(RedisAddress node) {
    return nodes
        .send(node, Request.cmd(Command.CLUSTER).arg("SLOTS"))
        .map(r -> ClusterTopology.fromSlots(r, node.host()));
  }
}
