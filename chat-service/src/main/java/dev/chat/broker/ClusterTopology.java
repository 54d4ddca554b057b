package dev.chat.broker;

import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which master serves each of the 16384 slots, and its replicas, as one node answered {@code
 * CLUSTER SHARDS} (Redis 7.0) or {@code CLUSTER SLOTS}. Immutable.
 */
public final class ClusterTopology {

  /** A contiguous run of slots, both ends included. */
  public record SlotRange(int from, int to) {}

  /** A master, the slots it serves and its replicas. */
  public record Shard(RedisAddress master, List<RedisAddress> replicas, List<SlotRange> ranges) {
    public Shard {
      replicas = List.copyOf(replicas);
      ranges = List.copyOf(ranges);
    }

    /** A slot this shard serves (its first), e.g. to address a probe to it. */
    public int firstSlot() {
      return ranges.get(0).from();
    }
  }

  private final List<Shard> shards;
  private final short[] shardOfSlot = new short[Slots.COUNT];

  public ClusterTopology(List<Shard> shards) {
    this.shards = List.copyOf(shards);
    Arrays.fill(shardOfSlot, (short) -1);
    for (int i = 0; i < this.shards.size(); i++) {
      for (SlotRange r : this.shards.get(i).ranges()) {
        Arrays.fill(shardOfSlot, r.from(), r.to() + 1, (short) i);
      }
    }
  }

  /**
   * Parses {@code CLUSTER SHARDS}: per shard a map of {@code slots} (pairs of bounds) and {@code
   * nodes} (maps with {@code endpoint}, {@code ip}, {@code port}, {@code role}, {@code health}).
   * Shards without slots (a failed master after its failover, a node just added) are left out.
   */
  static ClusterTopology fromShards(Response reply, String askedHost) {
    List<Shard> shards = new ArrayList<>();
    for (Response shard : reply) {
      Response slots = shard.get("slots");
      List<SlotRange> ranges = new ArrayList<>();
      for (int i = 0; i + 1 < slots.size(); i += 2) {
        ranges.add(new SlotRange(slots.get(i).toInteger(), slots.get(i + 1).toInteger()));
      }
      RedisAddress master = null;
      List<RedisAddress> replicas = new ArrayList<>();
      for (Response node : shard.get("nodes")) {
        RedisAddress address =
            new RedisAddress(host(node.get("endpoint"), node.get("ip"), askedHost), port(node));
        if ("master".equals(node.get("role").toString())) {
          master = address;
        } else if (!"fail".equals(String.valueOf(node.get("health")))) {
          replicas.add(address);
        }
      }
      if (!ranges.isEmpty() && master != null) {
        shards.add(new Shard(master, replicas, ranges));
      }
    }
    return new ClusterTopology(shards);
  }

  /**
   * Parses {@code CLUSTER SLOTS}: per range {@code [from, to, master, replica...]}, each node as
   * {@code [endpoint, port, id, ...]}; a master serving several ranges appears once per range.
   */
  static ClusterTopology fromSlots(Response reply, String askedHost) {
    List<Shard> shards = new ArrayList<>();
    for (Response range : reply) {
      SlotRange slots = new SlotRange(range.get(0).toInteger(), range.get(1).toInteger());
      RedisAddress master = slotsNode(range.get(2), askedHost);
      List<RedisAddress> replicas = new ArrayList<>();
      for (int i = 3; i < range.size(); i++) {
        replicas.add(slotsNode(range.get(i), askedHost));
      }
      int known = -1;
      for (int i = 0; i < shards.size(); i++) {
        if (shards.get(i).master().equals(master)) {
          known = i;
        }
      }
      if (known < 0) {
        shards.add(new Shard(master, replicas, List.of(slots)));
      } else {
        Shard s = shards.get(known);
        List<SlotRange> ranges = new ArrayList<>(s.ranges());
        ranges.add(slots);
        shards.set(known, new Shard(master, s.replicas(), ranges));
      }
    }
    return new ClusterTopology(shards);
  }

  public List<Shard> shards() {
    return shards;
  }

  /** The master serving {@code slot}, or null while no master serves it. */
  public RedisAddress masterOf(int slot) {
    Shard s = shardOf(slot);
    return s == null ? null : s.master();
  }

  public Shard shardOf(int slot) {
    int i = shardOfSlot[slot];
    return i < 0 ? null : shards.get(i);
  }

  public Set<RedisAddress> masters() {
    Set<RedisAddress> masters = new LinkedHashSet<>();
    shards.forEach(s -> masters.add(s.master()));
    return masters;
  }

  /** Slots served by some master; 16384 when the cluster is whole. */
  public int coveredSlots() {
    int n = 0;
    for (short s : shardOfSlot) {
      n += s < 0 ? 0 : 1;
    }
    return n;
  }

  /** True if both give every slot the same master (replicas aside). */
  public boolean sameMasters(ClusterTopology other) {
    for (int slot = 0; slot < Slots.COUNT; slot++) {
      if (!java.util.Objects.equals(masterOf(slot), other.masterOf(slot))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("ClusterTopology[");
    for (Shard s : shards) {
      b.append(s.master()).append(s.ranges().stream().map(r -> r.from() + "-" + r.to()).toList());
      b.append(" replicas ").append(s.replicas()).append("; ");
    }
    return b.append("]").toString();
  }

  private static RedisAddress slotsNode(Response node, String askedHost) {
    return new RedisAddress(host(node.get(0), null, askedHost), node.get(1).toInteger());
  }

  private static int port(Response node) {
    Response port = node.get("port");
    return port != null ? port.toInteger() : node.get("tls-port").toInteger();
  }

  /**
   * Redis names a node by its preferred endpoint; "" means "the host you asked", "?" that it does
   * not know it (then the IP is the best guess).
   */
  private static String host(Response endpoint, Response ip, String askedHost) {
    String e = endpoint == null ? "?" : endpoint.toString();
    if (e.isEmpty()) {
      return askedHost;
    }
    if ("?".equals(e)) {
      return ip == null || ip.toString().isEmpty() ? askedHost : ip.toString();
    }
    return e;
  }
}
