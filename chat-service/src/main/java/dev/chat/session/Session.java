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
 * One client connection's protocol logic: it dispatches frames, serialises each room's joins, and
 * tracks each joined room's position and what the client has not acknowledged. The heartbeat
 * ({@link Heartbeat}), the token's expiry ({@link TokenExpiry}), redelivery timing ({@link
 * RedeliveryTimer}) and the inbound limits ({@link InboundLimits}) are its parts. Lives on one
 * event loop.
 */
public final class Session implements Member {

  private static final Logger LOG = LoggerFactory.getLogger(Session.class);

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
  private final InboundLimits limits;
  private final Heartbeat heartbeat;
  private final TokenExpiry expiry;
  private final RedeliveryTimer redelivery;
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
    this.limits = new InboundLimits(config, now());
    this.heartbeat =
        new Heartbeat(
            vertx,
            config.heartbeatIntervalMs(),
            config.heartbeatTimeoutMs(),
            Session::now,
            new Heartbeat.Peer() {
              @Override
              public void ping() {
                out.ping();
              }

              @Override
              public void timedOut() {
                close(CloseCode.HEARTBEAT_TIMEOUT);
              }
            });
    this.expiry = new TokenExpiry(vertx, identity, () -> close(CloseCode.TOKEN_EXPIRED));
    this.redelivery =
        new RedeliveryTimer(
            vertx,
            pending,
            Session::now,
            new RedeliveryTimer.Peer() {
              @Override
              public void resend(byte[] messageFrame) {
                metrics.redelivered();
                out.send(ServerFrames.redelivered(messageFrame));
              }

              @Override
              public void exhausted() {
                close(CloseCode.UNACKED);
              }
            });
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
    heartbeat.start();
    expiry.start();
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
    heartbeat.inbound(now());
  }

  /**
   * One inbound frame of any kind (text, continuation, ping, pong): it proves the client alive and
   * counts against the frame budget, so that a flood of cheap frames (pings, acks, joins) is
   * stopped as surely as a flood of sends.
   */
  public void onFrame() {
    long now = now();
    heartbeat.inbound(now);
    if (!closed && limits.frameOverBudget(now)) {
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
      stopTimers();
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
    stopTimers();
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

  private void stopTimers() {
    heartbeat.stop();
    expiry.stop();
    redelivery.stop();
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
    long wait = limits.send(now());
    if (wait == 0) {
      return false;
    }
    if (wait == InboundLimits.FLOODING) {
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
    if (limits.badFrame(now())) {
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
    redelivery.dueBy(now + config.ackTimeoutMs(), now);
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
