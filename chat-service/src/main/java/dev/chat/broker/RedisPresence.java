package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Presence in Redis: per room a set of users with a count of presences, per owner the users it
 * holds there and the list of its rooms, which is what {@link RedisLease} reaps when the owner
 * dies.
 */
final class RedisPresence implements Presence {

  private static final Logger LOG = LoggerFactory.getLogger(RedisPresence.class);

  private final Vertx vertx;
  private final RedisCommands commands;
  private final RedisBroker broker;
  private final String owner;
  private final long reconcileRetryMs;
  // This owner's presences by room: the owner's room list in Redis drops a room when the last
  // of them leaves, a decision taken here so it goes out in order with any later join's SADD.
  private final Map<String, Set<String>> present = new HashMap<>();
  // Redis may hold presence of this owner that differs from `present`: a leave failed (Redis
  // unreachable or slow), or Redis lost or dropped what we had registered. Reconciling needs no
  // queue of what failed, so an outage costs no memory however many users leave during it.
  private boolean dirty;
  private boolean reconciling;
  private long reconcileTimer = -1;
  private boolean closed;

  RedisPresence(
      Vertx vertx,
      RedisCommands commands,
      RedisBroker broker,
      String owner,
      long reconcileRetryMs) {
    this.vertx = vertx;
    this.commands = commands;
    this.broker = broker;
    this.owner = owner;
    this.reconcileRetryMs = reconcileRetryMs;
  }

  @Override
  public Future<Snapshot> join(String room, String user, ReadRequest read, boolean silent) {
    if (user != null) {
      present.computeIfAbsent(room, r -> new HashSet<>()).add(user);
      // Recorded before the presence itself, so a reaper that finds the room finds every presence
      // in it.
      commands.send(Request.cmd(Command.SADD).arg(RedisKeys.ownerRooms(owner)).arg(room));
    }
    return broker.join(room, user, read, silent);
  }

  /**
   * Removes the presence; if Redis cannot be reached, the leave is not lost: Redis is reconciled
   * with this owner's presences once it answers again (see {@link #reconcile}).
   */
  @Override
  public Future<Void> leave(String room, String user) {
    Future<Void> left = leaveInRedis(room, user, owner).onFailure(this::mayDiffer);
    Set<String> users = present.get(room);
    if (users != null && users.remove(user) && users.isEmpty()) {
      present.remove(room);
      commands
          .send(Request.cmd(Command.SREM).arg(RedisKeys.ownerRooms(owner)).arg(room))
          .onFailure(this::mayDiffer);
    }
    return left;
  }

  private Future<Void> leaveInRedis(String room, String user, String who) {
    return commands
        .eval(
            RedisScript.LEAVE,
            List.of(RedisKeys.users(room), RedisKeys.presence(room, who)),
            List.of(RedisKeys.channel(room), user, commands.publishArg()))
        .mapEmpty();
  }

  /** Redis lost this owner's presence (its lease went missing): register it again. */
  void lost() {
    dirty = true;
    scheduleReconcile();
  }

  /** The command connection is back: repair what failed while it was away. */
  void commandsConnected() {
    if (dirty) {
      reconcile();
    }
  }

  void close() {
    closed = true;
    vertx.cancelTimer(reconcileTimer);
  }

  /** Announces the leaves of every presence {@code who} holds and removes its room list. */
  Future<Void> reap(String who) {
    return commands
        .send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.ownerRooms(who)))
        .compose(
            rooms -> {
              List<Future<Void>> leaves = new ArrayList<>();
              rooms.forEach(room -> leaves.add(leaveInRedis(room.toString(), "", who)));
              return Future.all(leaves);
            })
        .compose(v -> commands.send(Request.cmd(Command.DEL).arg(RedisKeys.ownerRooms(who))))
        .mapEmpty();
  }

  /**
   * A presence write failed or was lost. Only an outage heals by itself; a script or argument error
   * would fail the same way again.
   */
  private void mayDiffer(Throwable e) {
    if (e instanceof BrokerUnavailableException) {
      dirty = true;
      scheduleReconcile();
    }
  }

  private void scheduleReconcile() {
    // Without a command connection the reconnect runs it (commandsConnected).
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
   * Makes Redis hold exactly this owner's presences: a user Redis lists for this owner who left
   * meanwhile gets the leave (announced, as any last leave), and a user present here whom Redis
   * lost is registered again (announced, as any first join). Idempotent, so a run that overlaps a
   * join or a leave of the same user, or runs twice, changes nothing more: all of them go down the
   * one command connection in order, and the scripts only act on a change.
   */
  private void reconcile() {
    if (closed || !dirty || !commands.connected()) {
      return;
    }
    dirty = false;
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
                dirty = true;
              }
              if (dirty) {
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
                  fixes.add(leaveInRedis(room, user, owner));
                }
              }
              for (String user : Set.copyOf(here)) {
                if (!inRedis.contains(user)) {
                  // Announced: members were told the user left (a survivor reaped this owner while
                  // it was cut off from Redis) or lost her with Redis's data. The script announces
                  // only a user's first presence, so a user still listed by another owner makes
                  // no second join.
                  fixes.add(join(room, user, ReadRequest.stateOnly(), false));
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
}
