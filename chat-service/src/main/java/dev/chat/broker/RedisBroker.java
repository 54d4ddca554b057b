package dev.chat.broker;

import dev.chat.config.Config;
import dev.chat.metrics.Metrics;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis broker of one event loop: scripts store messages atomically, pub/sub fans them out, and
 * a lease per broker ("owner") lets the survivors clear the presence and slots of a node that died.
 */
public final class RedisBroker implements Broker {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBroker.class);
  private static final int REAP_BATCH = 16;

  private final Vertx vertx;
  private final Config config;
  private final String owner;
  private final RedisCommands commands;
  private final RedisSubscriber subscriber;
  private final RedisDisconnects disconnects;
  private final long probeMs;
  private final long reconcileRetryMs;
  // This broker's presences by room: the owner's room list in Redis drops a room when the last
  // of them leaves, a decision taken here so it goes out in order with any later join's SADD.
  private final Map<String, Set<String>> present = new HashMap<>();
  // Slots this broker holds or is taking, by key: the owner's slot list in Redis drops a key when
  // its count here reaches zero, decided here for the same reason as rooms above.
  private final Map<String, Integer> slots = new HashMap<>();
  private final Metrics metrics;
  private BrokerListener listener;
  private boolean commandsConnectedBefore;
  private long leaseTimer = -1;
  private long probeTimer = -1;
  private long lastProbeSeen;
  private boolean leased;
  private boolean resyncPending;
  // Redis may hold presence of this owner that differs from `present`: a leave failed (Redis
  // unreachable or slow), or Redis lost or dropped what we had registered. Reconciling needs no
  // queue of what failed, so an outage costs no memory however many users leave during it.
  private boolean presenceDirty;
  private boolean reconciling;
  private long reconcileTimer = -1;
  private boolean closed;

  /** {@code owner} names this broker's presence and lease; unique per event loop in the cluster. */
  public RedisBroker(Vertx vertx, Config config, String owner, Metrics metrics) {
    this.vertx = vertx;
    this.config = config;
    this.owner = owner;
    this.metrics = metrics;
    RedisOptions options =
        new RedisOptions().setConnectionString(config.redisUrl()).setMaxWaitingHandlers(65_536);
    this.commands =
        new RedisCommands(vertx, options, config.brokerTimeoutMs(), this::onCommandsConnected);
    this.subscriber =
        new RedisSubscriber(
            vertx,
            new RedisOptions(options),
            config.brokerTimeoutMs(),
            this::onPush,
            this::onRestored);
    this.disconnects = new RedisDisconnects(vertx, commands, owner, config.brokerTimeoutMs());
    this.probeMs = Math.max(200, Math.min(1_000, config.nodeLeaseMs() / 5));
    this.reconcileRetryMs = probeMs;
  }

  @Override
  public void listener(BrokerListener listener) {
    this.listener = listener;
  }

  @Override
  public Future<Void> start() {
    subscriber.subscribe(RedisKeys.probe(owner));
    disconnects.channels().forEach(subscriber::subscribe);
    leaseTimer = vertx.setPeriodic(config.nodeLeaseMs() / 3, t -> renewLease());
    probeTimer = vertx.setPeriodic(probeMs, t -> probe());
    lastProbeSeen = System.currentTimeMillis();
    // Start even when Redis is down: the node reports not ready and keeps reconnecting.
    return Future.all(commands.start(), subscriber.start())
        // A previous process with the same owner (a node restarted under the same CHAT_NODE_ID
        // before its lease ran out) left presence behind; renewing the lease would keep it forever.
        .compose(v -> reap(owner))
        .onSuccess(v -> renewLease())
        .onFailure(e -> LOG.warn("redis not reachable at start, retrying: {}", e.getMessage()))
        .otherwiseEmpty()
        .mapEmpty();
  }

  @Override
  public Future<Void> subscribe(String room) {
    return subscriber.subscribe(RedisKeys.channel(room));
  }

  @Override
  public Future<Void> unsubscribe(String room) {
    return subscriber.unsubscribe(RedisKeys.channel(room));
  }

  @Override
  public Future<Stored> publish(Draft d) {
    ServerFrames.MessageTemplate t =
        ServerFrames.messageTemplate(d.room(), d.id(), d.from(), d.text(), d.to());
    List<String> keys =
        List.of(
            RedisKeys.seq(d.room()),
            RedisKeys.history(d.room()),
            RedisKeys.epoch(d.room()),
            RedisKeys.dedup(d.room(), d.from(), d.id()),
            RedisKeys.dataset(d.room()));
    List<String> args =
        List.of(
            t.head(),
            t.mid(),
            Long.toString(config.dedupWindowMs()),
            Integer.toString(config.historyMax()),
            RedisKeys.channel(d.room()),
            Epochs.next());
    return commands
        .evalRoom(RedisScript.PUBLISH, keys, args)
        .map(
            r ->
                new Stored(
                    d.room(), r.get(1).toLong(), r.get(2).toLong(), r.get(0).toInteger() == 1));
  }

  @Override
  public Future<Page> history(String room, Long before, int limit) {
    return commands
        .eval(
            RedisScript.HISTORY,
            List.of(RedisKeys.seq(room), RedisKeys.history(room), RedisKeys.epoch(room)),
            List.of(
                Epochs.next(),
                Long.toString(before == null ? -1 : before),
                Integer.toString(limit)))
        .map(
            r -> {
              List<byte[]> messages = new ArrayList<>(r.get(2).size());
              r.get(2).forEach(m -> messages.add(m.toBytes()));
              return new Page(r.get(0).toString(), messages, r.get(1).toInteger() == 1);
            });
  }

  @Override
  public void disconnects(ToIntFunction<String> closer) {
    disconnects.closer(closer);
  }

  @Override
  public Future<Disconnected> disconnect(String user) {
    if (!ready()) {
      // Without a live subscriber this broker would hear neither its own request nor the answers.
      return Future.failedFuture(new BrokerUnavailableException("Redis is not connected"));
    }
    return disconnects.request(user);
  }

  @Override
  public Future<Snapshot> join(String room, String user, ReadRequest read, boolean silent) {
    if (user != null) {
      present.computeIfAbsent(room, r -> new HashSet<>()).add(user);
      // Recorded before the presence itself, so a reaper that finds the room finds every presence
      // in it.
      commands.send(Request.cmd(Command.SADD).arg(RedisKeys.ownerRooms(owner)).arg(room));
    }
    List<String> keys =
        List.of(
            RedisKeys.seq(room),
            RedisKeys.history(room),
            RedisKeys.epoch(room),
            RedisKeys.users(room),
            RedisKeys.presence(room, owner),
            RedisKeys.dataset(room));
    List<String> args =
        List.of(
            Epochs.next(),
            read.epoch() == null ? "" : read.epoch(),
            Long.toString(read.since() == null ? -1 : read.since()),
            Integer.toString(read.limit()),
            user == null ? "" : user,
            RedisKeys.channel(room),
            Integer.toString(config.joinedUsersMax()),
            silent ? "1" : "0");
    return commands.evalRoom(RedisScript.JOIN, keys, args).map(RedisBroker::snapshot);
  }

  /**
   * Removes the presence; if Redis cannot be reached, the leave is not lost: Redis is reconciled
   * with this broker's presences once it answers again (see {@link #reconcile}).
   */
  @Override
  public Future<Void> leave(String room, String user) {
    Future<Void> left = leaveInRedis(room, user).onFailure(this::presenceMayDiffer);
    Set<String> users = present.get(room);
    if (users != null && users.remove(user) && users.isEmpty()) {
      present.remove(room);
      commands
          .send(Request.cmd(Command.SREM).arg(RedisKeys.ownerRooms(owner)).arg(room))
          .onFailure(this::presenceMayDiffer);
    }
    return left;
  }

  private Future<Void> leaveInRedis(String room, String user) {
    return commands
        .eval(
            RedisScript.LEAVE,
            List.of(RedisKeys.users(room), RedisKeys.presence(room, owner)),
            List.of(RedisKeys.channel(room), user))
        .mapEmpty();
  }

  /**
   * A presence write failed or was lost. Only an outage heals by itself; a script or argument error
   * would fail the same way again.
   */
  private void presenceMayDiffer(Throwable e) {
    if (e instanceof BrokerUnavailableException) {
      presenceDirty = true;
      scheduleReconcile();
    }
  }

  private void scheduleReconcile() {
    // Without a command connection the reconnect runs it (onCommandsConnected).
    if (closed || reconciling || reconcileTimer != -1 || !commands.connected()) {
      return;
    }
    reconcileTimer =
        vertx.setTimer(
            reconcileRetryMs,
            t -> {
              reconcileTimer = -1;
              reconcile();
            });
  }

  /**
   * Makes Redis hold exactly this broker's presences: a user Redis lists for this owner who left
   * meanwhile gets the leave (announced, as any last leave), and a user present here whom Redis
   * lost is registered again (silently, as after a resync). Idempotent, so a run that overlaps a
   * join or a leave of the same user, or runs twice, changes nothing more: all of them go down the
   * one command connection in order, and the scripts only act on a change.
   */
  private void reconcile() {
    if (closed || !presenceDirty || !commands.connected()) {
      return;
    }
    presenceDirty = false;
    reconciling = true;
    commands
        .send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.ownerRooms(owner)))
        .compose(
            listed -> {
              Set<String> rooms = new HashSet<>(present.keySet());
              listed.forEach(r -> rooms.add(r.toString()));
              Future<Void> chain = Future.succeededFuture();
              for (String room : rooms) {
                chain = chain.compose(v -> reconcileRoom(room));
              }
              return chain;
            })
        .onComplete(
            ar -> {
              reconciling = false;
              if (ar.failed()) {
                LOG.debug("presence reconciliation failed, retrying: {}", ar.cause().getMessage());
                presenceDirty = true;
              }
              if (presenceDirty) {
                scheduleReconcile();
              }
            });
  }

  private Future<Void> reconcileRoom(String room) {
    return commands
        .send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.presence(room, owner)))
        .compose(
            registered -> {
              // Read now, not before the SMEMBERS: joins and leaves since are already on the wire.
              Set<String> here = present.getOrDefault(room, Set.of());
              Set<String> inRedis = new HashSet<>();
              registered.forEach(u -> inRedis.add(u.toString()));
              List<Future<?>> fixes = new ArrayList<>();
              for (String user : inRedis) {
                if (!here.contains(user)) {
                  fixes.add(leaveInRedis(room, user));
                }
              }
              for (String user : Set.copyOf(here)) {
                if (!inRedis.contains(user)) {
                  fixes.add(join(room, user, ReadRequest.stateOnly(), true));
                }
              }
              if (here.isEmpty()) {
                fixes.add(
                    commands.send(
                        Request.cmd(Command.SREM).arg(RedisKeys.ownerRooms(owner)).arg(room)));
              }
              return Future.all(fixes).mapEmpty();
            });
  }

  @Override
  public Future<Boolean> acquire(String key, int max) {
    if (slots.merge(key, 1, Integer::sum) == 1) {
      // Recorded before the slot itself, so a reaper finds every slot it must give back.
      commands.send(Request.cmd(Command.SADD).arg(RedisKeys.ownerSlots(owner)).arg(key));
    }
    return commands
        .eval(
            RedisScript.ACQUIRE,
            List.of(RedisKeys.slots(key)),
            List.of(owner, Integer.toString(max)))
        .map(r -> r.toInteger() == 1)
        .andThen(
            ar -> {
              if (ar.failed() || !ar.result()) {
                forgetSlot(key);
              }
            });
  }

  /**
   * Gives a slot back. If this broker's lease was lost while it lived (a long pause, Redis losing
   * its data), its slots were reaped and are not counted again: its connections count for nothing
   * until they close, and their releases only remove an already missing count. The limits are
   * lenient for a while rather than refusing users who hold no connection.
   */
  @Override
  public Future<Void> release(String key) {
    if (!slots.containsKey(key)) {
      return Future.succeededFuture();
    }
    Future<Void> released =
        commands
            .eval(RedisScript.RELEASE, List.of(RedisKeys.slots(key)), List.of(owner))
            .mapEmpty();
    forgetSlot(key);
    return released;
  }

  private void forgetSlot(String key) {
    if (slots.merge(key, -1, Integer::sum) <= 0) {
      slots.remove(key);
      commands.send(Request.cmd(Command.SREM).arg(RedisKeys.ownerSlots(owner)).arg(key));
    }
  }

  @Override
  public boolean ready() {
    return commands.connected() && subscriber.live();
  }

  @Override
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    slots.clear();
    vertx.cancelTimer(leaseTimer);
    vertx.cancelTimer(probeTimer);
    vertx.cancelTimer(reconcileTimer);
    disconnects.close();
    return reap(owner)
        .otherwiseEmpty()
        .compose(v -> Future.all(subscriber.close(), commands.close()).otherwiseEmpty())
        .mapEmpty();
  }

  private static Snapshot snapshot(Response r) {
    List<String> users = new ArrayList<>(r.get(5).size());
    r.get(5).forEach(u -> users.add(u.toString()));
    List<byte[]> messages = new ArrayList<>(r.get(6).size());
    r.get(6).forEach(m -> messages.add(m.toBytes()));
    return new Snapshot(
        r.get(0).toString(),
        r.get(1).toLong(),
        messages,
        r.get(2).toInteger() == 1,
        r.get(3).toInteger(),
        users,
        r.get(4).toInteger() == 1);
  }

  private void onPush(String channel, byte[] payload) {
    // Any push proves the subscriber alive, not only our probe: in a burst the probe waits behind
    // the traffic, and resetting the subscriber then would drop live messages for nothing.
    lastProbeSeen = System.currentTimeMillis();
    if (disconnects.onPush(channel, payload)) {
      return;
    }
    String room = RedisKeys.roomOfChannel(channel);
    if (room == null) {
      return;
    }
    if (listener == null || payload.length < 2) {
      return;
    }
    // Payloads: "M|<epoch>|<seq>|<frame>" or "P|<event>|<online>|<user>" (see the scripts).
    int a = indexOf(payload, 2);
    int b = indexOf(payload, a + 1);
    if (a < 0 || b < 0) {
      LOG.warn("malformed payload on {}", channel);
      return;
    }
    String first = new String(payload, 2, a - 2, StandardCharsets.UTF_8);
    long number = parseLong(payload, a + 1, b);
    if (payload[0] == 'M') {
      byte[] frame = java.util.Arrays.copyOfRange(payload, b + 1, payload.length);
      listener.onMessage(room, first, number, frame);
    } else if (payload[0] == 'P') {
      String user = new String(payload, b + 1, payload.length - b - 1, StandardCharsets.UTF_8);
      listener.onPresence(room, first, user, (int) number);
    }
  }

  private void onRestored() {
    metrics.subscriberReconnected();
    // A resync re-registers presence and re-reads rooms over the command connection. After a
    // Redis restart that connection may come back after the subscriber; a resync run before it
    // failed its presence re-registration, which nothing retried, so users stayed missing from
    // the new Redis. It waits for the command connection instead.
    if (commands.connected()) {
      resync();
    } else {
      resyncPending = true;
    }
  }

  private void onCommandsConnected() {
    if (commandsConnectedBefore) {
      metrics.commandsReconnected();
    }
    if (commandsConnectedBefore && !closed) {
      // At once rather than at the next period: the lease is what lets the survivors reap this
      // owner if it dies, and finding it missing is how a Redis that lost its data is noticed.
      renewLease();
    }
    commandsConnectedBefore = true;
    if (resyncPending && subscriber.live()) {
      resync();
    }
    if (presenceDirty) {
      reconcile();
    }
  }

  private void resync() {
    resyncPending = false;
    if (listener != null) {
      listener.onResync();
    }
  }

  private void probe() {
    long now = System.currentTimeMillis();
    if (!subscriber.live() || !commands.connected()) {
      lastProbeSeen = now;
      return;
    }
    if (now - lastProbeSeen > 3 * probeMs) {
      subscriber.reset("no probe came back for " + (now - lastProbeSeen) + " ms");
      return;
    }
    commands.send(Request.cmd(Command.PUBLISH).arg(RedisKeys.probe(owner)).arg("p"));
  }

  private void renewLease() {
    commands
        .eval(
            RedisScript.LEASE,
            List.of(RedisKeys.OWNERS),
            List.of(owner, Long.toString(config.nodeLeaseMs()), Integer.toString(REAP_BATCH)))
        .onSuccess(
            r -> {
              if (r.get(0).toInteger() == 1 && leased) {
                // The lease we had is gone: Redis lost its data or a peer reaped us after a pause.
                // (Our very first lease is missing by nature: nothing was missed, no resync.)
                // Our presence went with it; the hub's resync registers it again, and the
                // reconciliation repairs whatever of that fails.
                presenceDirty = true;
                if (listener != null && subscriber.live()) {
                  listener.onResync();
                }
                scheduleReconcile();
              }
              leased = true;
              r.get(1)
                  .forEach(
                      dead -> {
                        if (!dead.toString().equals(owner)) {
                          claimAndReap(dead.toString());
                        }
                      });
            });
  }

  private void claimAndReap(String dead) {
    // ZREM decides which survivor reaps: only one sees 1.
    commands
        .send(Request.cmd(Command.ZREM).arg(RedisKeys.OWNERS).arg(dead))
        .onSuccess(
            r -> {
              if (r.toInteger() == 1) {
                LOG.info("lease of {} ran out, announcing its leaves", dead);
                reap(dead);
              }
            });
  }

  private Future<Void> reap(String who) {
    return commands
        .send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.ownerRooms(who)))
        .compose(
            rooms -> {
              List<Future<Response>> leaves = new ArrayList<>();
              rooms.forEach(
                  room ->
                      leaves.add(
                          commands.eval(
                              RedisScript.LEAVE,
                              List.of(
                                  RedisKeys.users(room.toString()),
                                  RedisKeys.presence(room.toString(), who)),
                              List.of(RedisKeys.channel(room.toString()), ""))));
              return Future.all(leaves);
            })
        .compose(v -> commands.send(Request.cmd(Command.DEL).arg(RedisKeys.ownerRooms(who))))
        .compose(v -> commands.send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.ownerSlots(who))))
        .compose(
            keys -> {
              List<Future<Response>> freed = new ArrayList<>();
              keys.forEach(
                  key ->
                      freed.add(
                          commands.send(
                              Request.cmd(Command.HDEL)
                                  .arg(RedisKeys.slots(key.toString()))
                                  .arg(who))));
              return Future.all(freed);
            })
        .compose(v -> commands.send(Request.cmd(Command.DEL).arg(RedisKeys.ownerSlots(who))))
        .compose(v -> commands.send(Request.cmd(Command.ZREM).arg(RedisKeys.OWNERS).arg(who)))
        .mapEmpty();
  }

  private static int indexOf(byte[] payload, int from) {
    for (int i = from; i < payload.length; i++) {
      if (payload[i] == '|') {
        return i;
      }
    }
    return -1;
  }

  private static long parseLong(byte[] payload, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (payload[i] - '0');
    }
    return n;
  }
}
