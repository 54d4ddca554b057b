package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The bookkeeping of {@link ShardedSubscriber}: which channels are wanted, which connection each
 * was sent on, which are confirmed live, who waits for that, and which slots lost a live
 * subscription and are not whole again yet. Holds no connections and does no I/O.
 */
final class ShardSubscriptions {

  private final Map<String, Integer> wanted = new HashMap<>();
  private final Map<Integer, Set<String>> bySlot = new HashMap<>();
  private final Map<String, ShardConnection> placed = new HashMap<>();
  private final Set<String> confirmed = new HashSet<>();
  private final Map<String, List<Promise<Void>>> waiting = new HashMap<>();
  private final Set<Integer> interrupted = new HashSet<>();

  /** Wants {@code channel}; the future completes once it is confirmed. */
  Future<Void> want(String channel) {
    if (confirmed.contains(channel)) {
      return Future.succeededFuture();
    }
    int slot = Slots.slot(channel);
    if (wanted.put(channel, slot) == null) {
      bySlot.computeIfAbsent(slot, s -> new HashSet<>()).add(channel);
    }
    Promise<Void> live = Promise.promise();
    waiting.computeIfAbsent(channel, c -> new ArrayList<>()).add(live);
    return live.future();
  }

  /** No longer wants {@code channel}; returns the connection to send SUNSUBSCRIBE on, if any. */
  ShardConnection forget(String channel) {
    Integer slot = wanted.remove(channel);
    if (slot == null) {
      return null;
    }
    Set<String> same = bySlot.get(slot);
    same.remove(channel);
    if (same.isEmpty()) {
      bySlot.remove(slot);
      interrupted.remove(slot);
    }
    confirmed.remove(channel);
    fail(waiting.remove(channel), "unsubscribed");
    return placed.remove(channel);
  }

  Map<String, Integer> wanted() {
    return wanted;
  }

  boolean isWanted(String channel) {
    return wanted.containsKey(channel);
  }

  ShardConnection placement(String channel) {
    return placed.get(channel);
  }

  /** Records {@code channel} as sent on {@code c}; returns where it was before (or null). */
  ShardConnection place(String channel, ShardConnection c, boolean interrupts) {
    ShardConnection old = placed.put(channel, c);
    if (old != c) {
      unconfirm(channel, interrupts);
    }
    return old;
  }

  /** The subscription of {@code channel} ended; it is wanted still. */
  void unplace(String channel, boolean interrupts) {
    placed.remove(channel);
    unconfirm(channel, interrupts);
  }

  /** Channels sent on {@code c} (in {@code slot}, or in any slot when negative). */
  List<String> placedOn(ShardConnection c, int slot) {
    List<String> on = new ArrayList<>();
    Iterable<String> candidates = slot < 0 ? placed.keySet() : bySlot.getOrDefault(slot, Set.of());
    for (String channel : candidates) {
      if (placed.get(channel) == c) {
        on.add(channel);
      }
    }
    return on;
  }

  Set<ShardConnection> connectionsInUse() {
    return new HashSet<>(placed.values());
  }

  /**
   * The {@code ssubscribe} push for {@code channel} came from {@code from}; returns the channel's
   * slot if that made an interrupted slot whole again, else -1.
   */
  int confirm(String channel, ShardConnection from) {
    if (placed.get(channel) != from) {
      return -1;
    }
    confirmed.add(channel);
    List<Promise<Void>> w = waiting.remove(channel);
    if (w != null) {
      w.forEach(Promise::tryComplete);
    }
    Integer slot = wanted.get(channel);
    if (interrupted.contains(slot) && confirmed.containsAll(bySlot.get(slot))) {
      interrupted.remove(slot);
      return slot;
    }
    return -1;
  }

  boolean isLive(String channel) {
    return confirmed.contains(channel);
  }

  boolean allLive() {
    return confirmed.size() == wanted.size();
  }

  void failAll(String why) {
    waiting.values().forEach(w -> fail(w, why));
    waiting.clear();
  }

  private void unconfirm(String channel, boolean interrupts) {
    if (confirmed.remove(channel) && interrupts) {
      interrupted.add(wanted.get(channel));
    }
  }

  private static void fail(List<Promise<Void>> promises, String why) {
    if (promises != null) {
      promises.forEach(p -> p.tryFail(new BrokerUnavailableException(why)));
    }
  }
}
