package dev.chat.broker;

import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis Cluster subscriber of one event loop: one {@link ShardConnection} per master, each
 * channel SSUBSCRIBEd on the master serving its slot, and nothing on replicas (redis#12558 leaves
 * stale shard subscriptions there before 7.4).
 *
 * <p>A subscription counts as live only once its {@code ssubscribe} push arrived. Whenever one may
 * have stopped, the topology is read again and the channel subscribed on its slot's master: after a
 * {@code sunsubscribe} the server sent on its own (the slot moved or failed over), a {@code
 * -MOVED}, the end of a connection, or a failed probe ({@link ShardProbes}), and every {@code
 * refreshMs} in any case. Once every channel of an interrupted slot is live again, {@code
 * onRestored} names the slot, so the broker can repair from history just the rooms in it.
 */
public final class ShardedSubscriber implements PubSub {

  private static final Logger LOG = LoggerFactory.getLogger(ShardedSubscriber.class);

  /** {@code timeoutMs} bounds a subscribe and a command; probes run every {@code probeMs}. */
  public record Timing(long timeoutMs, long refreshMs, long probeMs) {}

  private final Vertx vertx;
  private final Context context;
  private final String seed;
  private final Timing timing;
  private final NodeCommands nodes;
  private final ClusterTopologyReader reader;
  private final ShardProbes probes;
  private final Backoff backoff;
  private final BiConsumer<String, byte[]> onMessage;
  private final Consumer<Set<Integer>> onRestored;
  private final ShardSubscriptions subs = new ShardSubscriptions();
  private final Map<RedisAddress, ShardConnection> shards = new HashMap<>();
  private final ShardConnection.Events events = new Events();
  private final Set<Integer> restored = new TreeSet<>();
  private ClusterTopology topology;
  private long refreshTimer = -1;
  private long probeTimer = -1;
  private boolean refreshing;
  private boolean refreshScheduled;
  private boolean refreshAgain;
  private boolean closed;
  // When the probe timer last ran a round (see probe()).
  private long lastRoundMs;

  /** Create on the event loop it will run on; {@code seeds} are {@code redis://} URIs. */
  public ShardedSubscriber(
      Vertx vertx,
      List<String> seeds,
      Timing timing,
      BiConsumer<String, byte[]> onMessage,
      Consumer<Set<Integer>> onRestored) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.seed = seeds.get(0);
    this.timing = timing;
    this.nodes = new NodeCommands(vertx, seed, timing.timeoutMs());
    this.reader = new ClusterTopologyReader(nodes, seeds.stream().map(RedisAddress::of).toList());
    this.probes = new ShardProbes(nodes, UUID.randomUUID().toString());
    this.backoff = new Backoff(vertx);
    this.onMessage = onMessage;
    this.onRestored = onRestored;
  }

  /**
   * Reads the topology and starts the refresh and probe timers; fails if no seed answers, and keeps
   * trying either way.
   */
  @Override
  public Future<Void> start() {
    refreshTimer = vertx.setPeriodic(timing.refreshMs(), t -> refreshNow());
    probeTimer = vertx.setPeriodic(timing.probeMs(), t -> probe());
    refreshing = true;
    return reader.read().onComplete(this::refreshed).mapEmpty();
  }

  /** Completes when the {@code ssubscribe} push for {@code channel} arrived. */
  @Override
  public Future<Void> subscribe(String channel) {
    if (closed) {
      return Future.failedFuture(new BrokerUnavailableException("subscriber closed"));
    }
    Future<Void> live = subs.want(channel);
    if (topology != null && subs.placement(channel) == null) {
      int slot = Slots.slot(channel);
      ShardConnection c = place(channel, slot);
      if (c != null) {
        c.subscribe(List.of(channel));
      }
    }
    return Deadline.within(vertx, live, timing.timeoutMs(), "SSUBSCRIBE " + channel);
  }

  @Override
  public Future<Void> unsubscribe(String channel) {
    ShardConnection c = subs.forget(channel);
    if (c != null) {
      c.unsubscribe(channel);
    }
    return Future.succeededFuture();
  }

  /** True while every wanted channel is confirmed on its slot's master. */
  @Override
  public boolean live() {
    return topology != null && subs.allLive();
  }

  /** The topology last read, or null before the first read. */
  public ClusterTopology topology() {
    return topology;
  }

  @Override
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    vertx.cancelTimer(refreshTimer);
    vertx.cancelTimer(probeTimer);
    backoff.cancel();
    shards.values().forEach(ShardConnection::close);
    shards.clear();
    subs.failAll("subscriber closed");
    return nodes.close();
  }

  // --- the one refresh loop --------------------------------------------------------------

  private void requestRefresh(String why) {
    if (closed) {
      return;
    }
    LOG.debug("cluster topology refresh: {}", why);
    if (refreshing) {
      refreshAgain = true;
    } else if (!refreshScheduled) {
      refreshScheduled = true;
      // The first retry is soon (50 ms gathers a burst of sunsubscribes); repeats back off to 2 s.
      backoff.schedule(
          () -> {
            refreshScheduled = false;
            refreshNow();
          });
    }
  }

  private void refreshNow() {
    if (!closed && !refreshing) {
      refreshing = true;
      reader.read().onComplete(this::refreshed);
    }
  }

  private void refreshed(AsyncResult<ClusterTopology> read) {
    refreshing = false;
    if (closed) {
      return;
    }
    if (read.failed()) {
      LOG.warn("cannot read the cluster topology: {}", read.cause().getMessage());
      requestRefresh("the last read failed");
      return;
    }
    ClusterTopology previous = topology;
    topology = read.result();
    if (previous == null || !previous.sameMasters(topology)) {
      LOG.info("cluster topology: {}", topology);
    }
    Set<String> probeChannels = probes.channels(topology);
    for (String old : new ArrayList<>(subs.wanted().keySet())) {
      if (probes.isProbe(old) && !probeChannels.contains(old)) {
        unsubscribe(old);
      }
    }
    for (String probe : probeChannels) {
      if (!subs.isWanted(probe)) {
        subs.want(probe); // bounded by no deadline: the probe itself notices one that never comes
      }
    }
    reconcile();
    if (refreshAgain) {
      refreshAgain = false;
      requestRefresh("triggered during the last read");
    }
  }

  /** Subscribes every wanted channel on its slot's master; closes connections left unused. */
  private void reconcile() {
    Map<ShardConnection, Map<Integer, List<String>>> sends = new HashMap<>();
    boolean unserved = false;
    for (Map.Entry<String, Integer> e : subs.wanted().entrySet()) {
      ShardConnection before = subs.placement(e.getKey());
      ShardConnection c = place(e.getKey(), e.getValue());
      unserved |= c == null;
      if (c != null && c != before) {
        sends
            .computeIfAbsent(c, k -> new HashMap<>())
            .computeIfAbsent(e.getValue(), s -> new ArrayList<>())
            .add(e.getKey());
      }
    }
    // one SSUBSCRIBE per slot: Redis refuses channels of several slots in one
    sends.forEach((c, bySlot) -> bySlot.values().forEach(c::subscribe));
    Set<ShardConnection> used = subs.connectionsInUse();
    shards
        .values()
        .removeIf(
            c -> {
              if (used.contains(c)) {
                return false;
              }
              c.close(); // no longer a master, or nothing of ours left on it
              return true;
            });
    if (unserved) {
      requestRefresh("some slots have no master");
    }
  }

  /**
   * Places {@code channel} on the connection to its slot's master, unsubscribing it where it was;
   * returns that connection (the caller sends SSUBSCRIBE if it changed), or null without master.
   */
  private ShardConnection place(String channel, int slot) {
    RedisAddress master = topology.masterOf(slot);
    if (master == null) {
      return null;
    }
    ShardConnection c = shards.get(master);
    if (c == null || c.done()) {
      c = ShardConnection.open(vertx, seed, master, timing.timeoutMs(), events);
      shards.put(master, c);
    }
    ShardConnection old = subs.place(channel, c, !probes.isProbe(channel));
    if (old != null && old != c) {
      old.unsubscribe(channel);
    }
    return c;
  }

  /**
   * Publishes a probe to every master whose probe is live; a connection that heard nothing, not
   * even its probe, for three probe periods (or a subscribe timeout, while its probe is not yet
   * confirmed) is taken for lost, once three rounds of this loop have passed unheard too. Any push
   * counts: in a burst the probe waits behind the traffic.
   */
  private void probe() {
    long now = System.currentTimeMillis();
    // A loop that was held up runs the ticks it missed back to back, with no read between them:
    // those are one round.
    if (now - lastRoundMs < timing.probeMs() / 2) {
      return;
    }
    lastRoundMs = now;
    long silence = Math.max(3 * timing.probeMs(), timing.timeoutMs());
    for (ShardConnection c : new ArrayList<>(shards.values())) {
      String channel = probes.channelOf(c.address);
      if (c.roundsUnheard >= 3 && now - c.lastPushMs > silence) {
        probeFailed(
            c, "nothing heard for " + (now - c.lastPushMs) + " ms, " + c.roundsUnheard + " rounds");
        continue;
      }
      c.roundsUnheard++;
      if (channel != null && subs.isLive(channel) && subs.placement(channel) == c) {
        probes.send(c.address, why -> probeFailed(c, why));
      }
    }
  }

  /** The probe channel of {@code master}; for tests. */
  String probeChannelOf(RedisAddress master) {
    return probes.channelOf(master);
  }

  private void probeFailed(ShardConnection c, String why) {
    if (shards.get(c.address) == c && !closed) {
      c.close();
      events.lost(c, "probe failed: " + why);
    }
  }

  private void restoredSlot(int slot) {
    if (restored.isEmpty()) {
      // one callback for all slots a burst of confirmations brings back
      context.runOnContext(
          v -> {
            if (!closed && !restored.isEmpty()) {
              Set<Integer> slots = Set.copyOf(restored);
              restored.clear();
              onRestored.accept(slots);
            }
          });
    }
    restored.add(slot);
  }

  /** What the shard connections report; kept off the public API. */
  private final class Events implements ShardConnection.Events {

    @Override
    public void message(ShardConnection from, String channel, byte[] payload) {
      // after a move, a late message from the old node would be a duplicate
      if (subs.placement(channel) == from && !probes.isProbe(channel)) {
        onMessage.accept(channel, payload);
      }
    }

    @Override
    public void subscribed(ShardConnection from, String channel) {
      int slot = subs.confirm(channel, from);
      if (slot >= 0) {
        restoredSlot(slot);
      }
      if (subs.allLive()) {
        backoff.reset();
      }
    }

    @Override
    public void dropped(ShardConnection from, String channel) {
      if (subs.placement(channel) == from) {
        subs.unplace(channel, !probes.isProbe(channel));
        requestRefresh("the server ended the subscription of " + channel);
      }
    }

    @Override
    public void moved(ShardConnection from, int slot) {
      subs.placedOn(from, slot).forEach(ch -> subs.unplace(ch, !probes.isProbe(ch)));
      requestRefresh("MOVED for slot " + slot + " from " + from.address);
    }

    @Override
    public void lost(ShardConnection from, String why) {
      LOG.warn("cluster subscriber connection to {} lost: {}", from.address, why);
      shards.remove(from.address, from);
      subs.placedOn(from, -1).forEach(ch -> subs.unplace(ch, !probes.isProbe(ch)));
      requestRefresh("connection to " + from.address + " lost");
    }
  }
}
