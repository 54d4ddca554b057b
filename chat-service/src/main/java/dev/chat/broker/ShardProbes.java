package dev.chat.broker;

import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One probe channel per master, tagged into a slot that master serves, so an {@code SPUBLISH} on
 * it, sent over a command connection, must come back on the subscriber connection to that master. A
 * probe proves what no confirmation can: that the subscription still delivers (a node that lost the
 * slot without telling us, a half-open connection, a subscriber stuck behind a partition).
 */
final class ShardProbes {

  private static final String PREFIX = "chat:probe:{";

  private final NodeCommands nodes;
  private final String suffix;
  private Map<RedisAddress, String> byMaster = Map.of();

  /** {@code id} keeps this subscriber's probes apart from every other one's. */
  ShardProbes(NodeCommands nodes, String id) {
    this.nodes = nodes;
    this.suffix = "}:" + id;
  }

  /** The probe channels for {@code topology}'s masters, which this subscriber must subscribe. */
  Set<String> channels(ClusterTopology topology) {
    Map<RedisAddress, String> next = new HashMap<>();
    topology
        .shards()
        .forEach(s -> next.put(s.master(), PREFIX + Slots.tagFor(s.firstSlot()) + suffix));
    byMaster = next;
    return new HashSet<>(next.values());
  }

  boolean isProbe(String channel) {
    return channel.startsWith(PREFIX) && channel.endsWith(suffix);
  }

  /** The probe channel of {@code master}, or null when it is not a master in the topology. */
  String channelOf(RedisAddress master) {
    return byMaster.get(master);
  }

  /**
   * Publishes a probe to {@code master}; {@code failed} hears why when the node refuses it (MOVED:
   * the slot is elsewhere now), does not answer, or has no subscriber for it (ours lost).
   */
  void send(RedisAddress master, Consumer<String> failed) {
    String channel = byMaster.get(master);
    if (channel == null) {
      return;
    }
    nodes
        .send(master, Request.cmd(Command.SPUBLISH).arg(channel).arg("p"))
        .onComplete(
            ar -> {
              if (ar.failed()) {
                failed.accept("SPUBLISH failed: " + ar.cause().getMessage());
              } else if (ar.result().toInteger() == 0) {
                failed.accept("SPUBLISH reached no subscriber");
              }
            });
  }
}
