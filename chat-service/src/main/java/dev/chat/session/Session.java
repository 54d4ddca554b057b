package dev.chat.session;

import dev.chat.auth.Identity;
import dev.chat.broker.Broker;
import dev.chat.broker.BrokerUnavailableException;
import dev.chat.broker.ChangeRefusedException;
import dev.chat.broker.Draft;
import dev.chat.broker.Snapshot;
import dev.chat.broker.Stored;
import dev.chat.config.Config;
import dev.chat.metrics.Metrics;
import dev.chat.protocol.ClientCodec;
import dev.chat.protocol.ClientFrame;
import dev.chat.protocol.CloseCode;
import dev.chat.protocol.Decoded;
import dev.chat.protocol.ErrorCode;
import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import dev.chat.room.Member;
import dev.chat.room.RoomHub;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One client connection's protocol logic: it answers frames, tracks joined rooms and what the
 * client has not acknowledged, redelivers, and keeps the heartbeat, the token's expiry and the
 * inbound rate limits. Lives on one event loop.
 */
public final class Session implements Member {

  private static final Logger LOG = LoggerFactory.getLogger(Session.class);
  private static final int BAD_FRAMES_ALLOWED = 20;
  private static final long BAD_FRAMES_WINDOW_MS = 10_000;
  private static final long STRIKES_WINDOW_MS = 10_000;

  /**
   * A token's expiry is wall-clock time but timers run on the monotonic clock: a long one is armed
   * a day at a time and re-checks the wall clock, so a clock step moves the close with it.
   */
  private static final long MAX_TIMER_MS = 86_400_000;

  private final Vertx vertx;
  private final Config config;
  private final RoomHub hub;
  private final Broker broker;
  private final Outbound out;
  private final String user;
  private final Identity identity;
  private final String connId;
  private final Metrics metrics;
  // Each joined room's last delivered seq, -1 while its join is in flight. The last room delivered
  // to is remembered (by identity: the hub passes its own name instance), so the fan-out finds it
  // without a map lookup; every removal goes through forget(), which drops that memory.
  private final Map<String, Position> lastSeq = new HashMap<>(4);
  private String lastRoom;
  private Position lastPosition;
  // Rooms with a join in flight, each with the join that arrived meanwhile (null if none).
  private final Map<String, ClientFrame.Join> joinsInFlight = new HashMap<>();
  private final PendingAcks pending;
  private final HistoryPages history;
  private final ReadReceipts reads;
  private final TokenBucket sends;
  private final TokenBucket frames;
  private long heartbeatTimer = -1;
  private long expiryTimer = -1;
  private long redeliveryTimer = -1;
  private long redeliveryAt;
  private long lastInbound;
  private long nextPing;
  private int badFrames;
  private long badFramesSince;
  private int strikes;
  private long strikesSince;
  private boolean closed;
  private boolean released;

  public Session(
      Vertx vertx,
      Config config,
      RoomHub hub,
      Broker broker,
      Outbound out,
      Identity identity,
      String connId,
      Metrics metrics) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.config = config;
    this.hub = hub;
    this.broker = broker;
    this.out = out;
    this.identity = identity;
    this.user = identity.user();
    this.connId = connId;
    this.pending = new PendingAcks(config.ackTimeoutMs(), config.maxRedeliveries());
    this.history =
        new HistoryPages(
            broker, out, lastSeq::containsKey, () -> closed, e -> brokerError(e, null));
    this.reads =
        new ReadReceipts(broker, out, user, lastSeq::containsKey, e -> brokerError(e, null));
    long now = now();
    this.sends = new TokenBucket(config.rateLimitPerSec(), config.rateLimitBurst(), now);
    this.frames = new TokenBucket(config.frameRatePerSec(), config.frameBurst(), now);
    this.lastInbound = now;
    this.nextPing = now + config.heartbeatIntervalMs();
    this.badFramesSince = now;
    this.strikesSince = now;
  }

  /** Sends the welcome and starts the heartbeat. */
  public void start() {
    out.send(
        ServerFrames.welcome(
            user,
            connId,
            config.nodeId(),
            config.heartbeatIntervalMs(),
            config.heartbeatTimeoutMs(),
            config.ackTimeoutMs()));
    armHeartbeat(config.heartbeatIntervalMs());
    if (identity.expires()) {
      armExpiry();
    }
  }

  @Override
  public String user() {
    return user;
  }

  public String connId() {
    return connId;
  }

  /** Any frame from the client, data or control, proves it alive. */
  public void onActivity() {
    lastInbound = now();
  }

  /**
   * One inbound frame of any kind (text, continuation, ping, pong): it proves the client alive and
   * counts against the frame budget, so that a flood of cheap frames (pings, acks, joins) is
   * stopped as surely as a flood of sends.
   */
  public void onFrame() {
    long now = now();
    lastInbound = now;
    if (!closed && frames.take(now) > 0) {
      LOG.debug("{} ({}) sent frames faster than the frame budget", connId, user);
      close(CloseCode.FLOODING);
    }
  }

  /** Handles one complete text message (valid UTF-8, within the size limit). */
  public void onText(String text) {
    if (closed) {
      return;
    }
    onActivity();
    switch (ClientCodec.decode(text)) {
      case Decoded.Parsed p -> dispatch(p.frame());
      case Decoded.Invalid bad -> badRequest(bad.message(), bad.id());
    }
  }

  /**
   * Closes the connection with {@code code}. Nothing more is written; rooms are released on the
   * next turn of the loop, since this may run while the hub is iterating a room's members.
   */
  public void close(CloseCode code) {
    if (!closed) {
      closed = true;
      metrics.closed(code);
      // Misbehaving or stalled clients are worth a line; routine closes (drain, heartbeat) are not.
      boolean notable =
          code == CloseCode.UNACKED || code == CloseCode.POLICY || code == CloseCode.FLOODING;
      LOG.atLevel(notable ? Level.INFO : Level.DEBUG)
          .addKeyValue("user", user)
          .addKeyValue("conn", connId)
          .addKeyValue("code", code.code())
          .log("closing connection: {}", code.reason());
      out.close(code);
      vertx.runOnContext(v -> onClosed());
    }
  }

  /** The socket is gone: cancels every timer and leaves every room. Idempotent. */
  public void onClosed() {
    closed = true;
    if (released) {
      return;
    }
    released = true;
    vertx.cancelTimer(heartbeatTimer);
    vertx.cancelTimer(expiryTimer);
    vertx.cancelTimer(redeliveryTimer);
    for (String room : List.copyOf(lastSeq.keySet())) {
      hub.leave(this, room);
    }
    lastSeq.clear();
    lastRoom = null;
    lastPosition = null;
  }

  public boolean closed() {
    return closed;
  }

  private void dispatch(ClientFrame frame) {
    switch (frame) {
      case ClientFrame.Join j -> join(j);
      case ClientFrame.Leave l -> leave(l.room());
      case ClientFrame.Send s -> send(s);
      case ClientFrame.Dm d -> dm(d);
      case ClientFrame.Ack a -> {
        metrics.acked();
        pending.ack(a.room(), a.seq());
      }
      case ClientFrame.Ping p -> out.send(ServerFrames.PONG);
      case ClientFrame.History h -> history.request(h);
      case ClientFrame.Typing t -> typing(t.room());
      case ClientFrame.Read r -> reads.read(r);
      case ClientFrame.Edit e -> store(e.room(), e.id(), MessageChanges.edit(e, identity));
      case ClientFrame.Delete d -> store(d.room(), d.id(), MessageChanges.delete(d, identity));
    }
  }

  /** Typing is forwarded by the hub; one still joining is dropped like an extra one. */
  private void typing(String room) {
    if (!lastSeq.containsKey(room)) {
      out.send(ServerFrames.error(ErrorCode.NOT_JOINED, "join " + room + " first", null));
      return;
    }
    hub.typing(this, room, now());
  }

  private void join(ClientFrame.Join j) {
    String owner = Names.inboxOwner(j.room());
    if (owner != null && !owner.equals(user)) {
      out.send(
          ServerFrames.error(ErrorCode.FORBIDDEN, "only " + owner + " may join " + j.room(), null));
      return;
    }
    // A user's own inbox is always theirs: the rooms claim limits the shared rooms.
    if (owner == null && !identity.rooms().allows(j.room())) {
      out.send(
          ServerFrames.error(
              ErrorCode.FORBIDDEN, "your token does not allow joining " + j.room(), null));
      return;
    }
    if (!lastSeq.containsKey(j.room()) && lastSeq.size() >= config.maxRoomsPerConnection()) {
      out.send(
          ServerFrames.error(
              ErrorCode.BAD_REQUEST,
              "too many rooms on one connection (at most " + config.maxRoomsPerConnection() + ")",
              null));
      return;
    }
    if (joinsInFlight.containsKey(j.room())) {
      // Answer every join: this one runs once the one in flight has been answered.
      joinsInFlight.put(j.room(), j);
      return;
    }
    joinsInFlight.put(j.room(), null);
    forget(j.room());
    lastSeq.put(j.room(), new Position());
    pending.clear(j.room());
    hub.join(this, j.room(), j.epoch(), j.since())
        .onComplete(
            ar -> {
              ClientFrame.Join next = joinsInFlight.remove(j.room());
              if (closed) {
                return;
              }
              if (ar.failed() && forget(j.room()) != null) {
                pending.clear(j.room());
                out.send(brokerError(ar.cause(), null));
              } else if (ar.succeeded()) {
                metrics.joined();
              }
              if (next != null) {
                join(next);
              }
            });
  }

  private void leave(String room) {
    if (joinsInFlight.containsKey(room)) {
      joinsInFlight.put(room, null);
    }
    if (forget(room) == null) {
      out.send(ServerFrames.error(ErrorCode.NOT_JOINED, "not joined to " + room, null));
      return;
    }
    pending.clear(room);
    hub.leave(this, room);
    out.send(ServerFrames.left(room));
  }

  private void send(ClientFrame.Send s) {
    store(s.room(), s.id(), new Draft(s.room(), user, s.id(), s.text(), null));
  }

  /** A send, edit or delete: a new entry of a joined room's stream, acknowledged once stored. */
  private void store(String room, String id, Draft draft) {
    metrics.messageIn();
    if (!lastSeq.containsKey(room)) {
      out.send(
          ServerFrames.error(ErrorCode.NOT_JOINED, "join " + room + " before sending to it", id));
      return;
    }
    if (rateLimited(id)) {
      return;
    }
    long start = System.nanoTime();
    acknowledge(broker.publish(draft), id, start);
  }

  private void dm(ClientFrame.Dm d) {
    metrics.messageIn();
    if (rateLimited(d.id())) {
      return;
    }
    long start = System.nanoTime();
    acknowledge(broker.publishDirect(user, d.to(), d.id(), d.text()), d.id(), start);
  }

  /**
   * Answers the sender once the message is stored (both inboxes for a dm), and records how long
   * that took since {@code start}, when the frame arrived.
   */
  private void acknowledge(Future<Stored> stored, String id, long start) {
    stored.onComplete(
        ar -> {
          metrics.published(start);
          if (ar.succeeded() && ar.result().duplicate()) {
            metrics.dedupHit();
          }
          if (closed) {
            return;
          }
          if (ar.succeeded()) {
            Stored s = ar.result();
            out.send(ServerFrames.sendAck(id, s.room(), s.seq(), s.ts()));
          } else {
            out.send(brokerError(ar.cause(), id));
          }
        });
  }

  private boolean rateLimited(String id) {
    long now = now();
    long wait = sends.take(now);
    if (wait == 0) {
      return false;
    }
    if (now - strikesSince > STRIKES_WINDOW_MS) {
      strikesSince = now;
      strikes = 0;
    }
    if (++strikes > config.rateLimitStrikes()) {
      // It keeps sending after being told to wait: a flood, not a burst.
      LOG.debug("{} ({}) kept sending while rate limited", connId, user);
      close(CloseCode.FLOODING);
      return true;
    }
    out.send(ServerFrames.rateLimited("too many messages, retry later", id, wait));
    return true;
  }

  private byte[] brokerError(Throwable e, String id) {
    if (e instanceof ChangeRefusedException refused) {
      return ServerFrames.error(
          refused.forbidden() ? ErrorCode.FORBIDDEN : ErrorCode.BAD_REQUEST,
          refused.getMessage(),
          id);
    }
    if (!(e instanceof BrokerUnavailableException)) {
      LOG.atWarn()
          .addKeyValue("user", user)
          .addKeyValue("conn", connId)
          .log("broker call failed: {}", e.toString());
    }
    return ServerFrames.unavailable("the message broker cannot be reached, retry", id);
  }

  private void badRequest(String message, String id) {
    out.send(ServerFrames.error(ErrorCode.BAD_REQUEST, message, id));
    long now = now();
    if (now - badFramesSince > BAD_FRAMES_WINDOW_MS) {
      badFramesSince = now;
      badFrames = 0;
    }
    if (++badFrames > BAD_FRAMES_ALLOWED) {
      close(CloseCode.POLICY);
    }
  }

  @Override
  public void joined(String room, Snapshot s) {
    if (closed || !lastSeq.containsKey(room)) {
      return;
    }
    pending.clear(room);
    // Keyed by the hub's instance of the name from now on, which deliver() compares by identity.
    forget(room);
    Position position = new Position();
    position.seq = s.seq();
    lastSeq.put(room, position);
    out.send(
        ServerFrames.joined(
            room,
            s.epoch(),
            s.seq(),
            s.online(),
            s.users(),
            s.usersTruncated(),
            s.recovered(),
            s.read()));
    for (int i = 0; i < s.messages().size(); i++) {
      write(room, s.seqOf(i), s.messages().get(i), false);
    }
  }

  // Identity, not equals: the hub passes the same room String to every member, so a hit skips the
  // map lookup; a miss only costs that lookup.
  @SuppressWarnings("ReferenceEquality")
  @Override
  public void deliver(String room, long seq, byte[] frame) {
    Position position = room == lastRoom ? lastPosition : position(room);
    if (closed || position == null || position.seq < 0 || seq <= position.seq) {
      return;
    }
    position.seq = seq;
    write(room, seq, frame, true);
  }

  @SuppressWarnings("ReferenceEquality") // as in deliver()
  @Override
  public void presence(String room, byte[] frame) {
    Position position = room == lastRoom ? lastPosition : position(room);
    if (!closed && position != null && position.seq >= 0) {
      out.sendShared(frame);
    }
  }

  @SuppressWarnings("ReferenceEquality") // as in deliver()
  @Override
  public void signal(String room, byte[] frame) {
    Position position = room == lastRoom ? lastPosition : position(room);
    // Ephemeral: a client that is not keeping up loses it rather than queueing more.
    if (!closed && position != null && position.seq >= 0 && !out.writeQueueFull()) {
      out.sendShared(frame);
    }
  }

  /**
   * {@code shared}: the hub is writing the same frame to every member (a fan-out, not a replay).
   */
  private void write(String room, long seq, byte[] frame, boolean shared) {
    if (pending.size() >= config.maxPendingAcks() || out.writeQueueFull()) {
      // The client is not keeping up; buffering more for it would be unbounded.
      close(CloseCode.UNACKED);
      return;
    }
    if (shared) {
      out.sendShared(frame);
    } else {
      out.send(frame);
    }
    metrics.messageOut();
    long now = now();
    pending.add(room, seq, frame, now);
    armRedelivery(now + config.ackTimeoutMs(), now);
  }

  /**
   * Makes the redelivery timer fire by {@code at}. A timer armed for an older message's longer
   * backoff fires too late for a new message, so an earlier due time re-arms it.
   */
  private void armRedelivery(long at, long now) {
    if (redeliveryTimer != -1) {
      if (redeliveryAt <= at) {
        return;
      }
      vertx.cancelTimer(redeliveryTimer);
    }
    redeliveryAt = at;
    redeliveryTimer = vertx.setTimer(Math.max(1, at - now), t -> redeliver());
  }

  private void redeliver() {
    redeliveryTimer = -1;
    if (closed) {
      return;
    }
    long now = now();
    if (!pending.redeliverDue(
        now,
        frame -> {
          metrics.redelivered();
          out.send(ServerFrames.redelivered(frame));
        })) {
      close(CloseCode.UNACKED);
      return;
    }
    long next = pending.nextDue();
    if (next != Long.MAX_VALUE) {
      armRedelivery(next, now);
    }
  }

  /** Closes with 4002 when the token expires; wall-clock time, as the token's {@code exp} is. */
  private void armExpiry() {
    expiryTimer = -1;
    if (closed) {
      return;
    }
    long left = identity.validUntilMs() - System.currentTimeMillis();
    if (left <= 0) {
      close(CloseCode.TOKEN_EXPIRED);
      return;
    }
    expiryTimer = vertx.setTimer(Math.min(left, MAX_TIMER_MS), t -> armExpiry());
  }

  private void armHeartbeat(long delay) {
    heartbeatTimer = vertx.setTimer(Math.max(1, delay), t -> heartbeat());
  }

  private void heartbeat() {
    if (closed) {
      return;
    }
    long now = now();
    long deadline = lastInbound + config.heartbeatTimeoutMs();
    if (now >= deadline) {
      close(CloseCode.HEARTBEAT_TIMEOUT);
      return;
    }
    if (now >= nextPing) {
      out.ping();
      nextPing = now + config.heartbeatIntervalMs();
    }
    armHeartbeat(Math.min(nextPing, deadline) - now);
  }

  private Position position(String room) {
    Position position = lastSeq.get(room);
    if (position != null) {
      lastRoom = room;
      lastPosition = position;
    }
    return position;
  }

  /** Removes a room's position, and the memory of it as the last room delivered to. */
  private Position forget(String room) {
    Position position = lastSeq.remove(room);
    if (position != null && position == lastPosition) {
      lastRoom = null;
      lastPosition = null;
    }
    return position;
  }

  /** A joined room's last delivered seq; mutable, so that a delivery allocates nothing. */
  private static final class Position {
    long seq = -1;
  }

  /**
   * Milliseconds on the monotonic clock: every time here is a duration, and a wall-clock step (NTP,
   * a resumed VM) would otherwise close every connection with 4000, or stall heartbeats,
   * redeliveries and the rate limit for as long as the clock went back.
   */
  private static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
