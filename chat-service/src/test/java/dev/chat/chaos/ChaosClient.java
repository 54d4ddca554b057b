package dev.chat.chaos;

import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.IntFunction;

/**
 * One simulated user of the chaos suite, confined to the suite's single client event loop: it sends
 * messages with de-duplication ids and retries each with the same id until acked, acks what it
 * receives, de-duplicates by seq, and after every disconnect reconnects (to the next node) and
 * resumes its room with {@code epoch} and {@code since}.
 *
 * <p>It records in the {@link Ledger} what it was told: acks, accepted deliveries, duplicates, gaps
 * (a seq past the next expected one: a contract violation), resets ({@code recovered:false}) and
 * close codes.
 */
final class ChaosClient {

  /** An un-acked send is sent again (same id) after this long without an answer. */
  private static final long RESEND_AFTER_MS = 3_000;

  /**
   * After an error answer ({@code unavailable}, {@code rate_limited}) the send is retried this
   * soon.
   */
  private static final long RETRY_AFTER_ERROR_MS = 300;

  private static final int MAX_IN_FLIGHT = 2;

  final String user;
  final String room;
  private final Vertx vertx;
  private final WebSocketClient sockets;
  private final IntFunction<Integer> portOfNode;
  private final int nodes;
  private final int historyOnJoin;
  private final Ledger ledger;
  private final long sendEveryMs;

  private int node;
  private WebSocket ws;
  private boolean connecting;
  private boolean joined;
  private boolean paused;
  private boolean sending = true;
  private boolean shutdown;
  private long nextSendAt;
  private int nextId;

  /** The epoch this client knows of the room, null before its first joined frame. */
  String epoch;

  /** The last seq accepted in {@link #epoch}; -1 when there is none. */
  long lastSeq = -1;

  private long ackSentOnConnection = -1;

  /**
   * Un-acked sends: id → text, in creation order, with when each was last sent (0: not on this
   * connection).
   */
  private final LinkedHashMap<String, String> unacked = new LinkedHashMap<>();

  private final Map<String, Long> lastSentAt = new HashMap<>();

  /** Accepted deliveries: epoch → seq → "from/id". */
  final Map<String, TreeMap<Long, String>> seen = new HashMap<>();

  /** The first seq of this client's current unbroken run in {@link #epoch}. */
  long runStart = -1;

  ChaosClient(
      String user,
      String room,
      int firstNode,
      Vertx vertx,
      WebSocketClient sockets,
      IntFunction<Integer> portOfNode,
      int nodes,
      int historyOnJoin,
      long sendEveryMs,
      Ledger ledger) {
    this.user = user;
    this.room = room;
    this.node = firstNode;
    this.vertx = vertx;
    this.sockets = sockets;
    this.portOfNode = portOfNode;
    this.nodes = nodes;
    this.historyOnJoin = historyOnJoin;
    this.sendEveryMs = sendEveryMs;
    this.ledger = ledger;
  }

  /** Connected, joined and reading: the state every client returns to after a fault. */
  boolean healthy() {
    return ws != null && joined && !paused;
  }

  boolean idle() {
    return unacked.isEmpty();
  }

  int unackedCount() {
    return unacked.size();
  }

  void stopSending() {
    sending = false;
  }

  /**
   * Plays a consumer that stops reading: no frames are taken off the socket until {@link #resume}.
   */
  void pause() {
    paused = true;
    if (ws != null) {
      ws.pause();
    }
  }

  void resume() {
    paused = false;
    if (ws != null) {
      ws.resume();
    }
  }

  /** The suite is over: no more reconnecting. */
  void shutdown() {
    shutdown = true;
    if (ws != null) {
      ws.close();
    }
  }

  void connect() {
    if (shutdown || connecting || ws != null) {
      return;
    }
    connecting = true;
    int port = portOfNode.apply(node);
    WebSocketConnectOptions options =
        new WebSocketConnectOptions()
            .setHost("127.0.0.1")
            .setPort(port)
            .setURI("/ws?user=" + user)
            .setTimeout(5_000);
    sockets
        .connect(options)
        .onComplete(
            ar -> {
              connecting = false;
              if (ar.failed()) {
                ledger.connectFailures++;
                nextNode();
                vertx.setTimer(100 + (long) (Math.random() * 200), t -> connect());
                return;
              }
              attach(ar.result());
            });
  }

  private void attach(WebSocket socket) {
    ws = socket;
    joined = false;
    ackSentOnConnection = -1;
    lastSentAt.clear();
    socket.textMessageHandler(
        text -> {
          if (ws == socket) {
            onFrame(new JsonObject(text));
          }
        });
    socket.exceptionHandler(
        e -> {
          // a reset shows up here and then as a close
        });
    socket.closeHandler(
        v -> {
          if (ws != socket) {
            return;
          }
          Short code = socket.closeStatusCode();
          ledger.closed(code == null ? 1006 : code);
          ws = null;
          joined = false;
          nextNode();
          vertx.setTimer(50 + (long) (Math.random() * 200), t -> connect());
        });
    if (paused) {
      socket.pause();
    }
  }

  private void nextNode() {
    node = (node + 1) % nodes;
  }

  private void onFrame(JsonObject f) {
    switch (f.getString("type", "")) {
      case "welcome" -> join();
      case "joined" -> onJoined(f);
      case "message" -> onMessage(f);
      case "ack" -> onAck(f);
      case "error" -> onError(f);
      default -> {
        // presence, pong
      }
    }
  }

  private void join() {
    JsonObject join = new JsonObject().put("type", "join").put("room", room);
    if (epoch != null && lastSeq >= 0) {
      join.put("epoch", epoch).put("since", lastSeq);
    }
    ws.writeTextMessage(join.encode());
  }

  private void onJoined(JsonObject f) {
    if (!room.equals(f.getString("room"))) {
      return;
    }
    String newEpoch = f.getString("epoch");
    if (f.getBoolean("recovered", false)) {
      if (!newEpoch.equals(epoch)) {
        ledger.violation(user + ": recovered:true in epoch " + newEpoch + " after " + epoch);
      }
    } else {
      // A new view: the replay is exactly the latest historyOnJoin messages up to the joined seq.
      if (epoch != null) {
        ledger.resets++;
        if (epoch.equals(newEpoch)) {
          ledger.sameEpochResets++;
        }
      }
      epoch = newEpoch;
      lastSeq = Math.max(0, f.getLong("seq") - historyOnJoin);
      ackSentOnConnection = -1; // seqs start over in a new epoch: ack them from the start
      runStart = lastSeq + 1;
      seen.computeIfAbsent(epoch, e -> new TreeMap<>());
    }
    boolean first = !joined;
    joined = true;
    if (first) {
      long now = now();
      for (String id : unacked.keySet()) {
        write(id, unacked.get(id), now);
      }
    }
  }

  private void onMessage(JsonObject f) {
    if (!room.equals(f.getString("room")) || epoch == null) {
      return;
    }
    long seq = f.getLong("seq");
    String key = f.getString("from") + "/" + f.getString("id");
    TreeMap<Long, String> mine = seen.get(epoch);
    if (seq <= lastSeq) {
      ledger.duplicates++;
      String earlier = mine.get(seq);
      if (earlier != null && !earlier.equals(key)) {
        ledger.violation(
            user + ": seq " + seq + " of epoch " + epoch + " was " + earlier + ", now " + key);
      }
      return;
    }
    if (seq != lastSeq + 1) {
      ledger.violation(
          user
              + ": gap in "
              + room
              + " epoch "
              + epoch
              + ": got seq "
              + seq
              + " after "
              + lastSeq
              + " without recovered:false");
    }
    lastSeq = seq;
    String before = mine.put(seq, key);
    if (before != null && !before.equals(key)) {
      ledger.violation(
          user + ": seq " + seq + " of epoch " + epoch + " was " + before + ", now " + key);
    }
    ledger.delivered++;
  }

  private void onAck(JsonObject f) {
    String id = f.getString("id");
    if (id == null) {
      return;
    }
    if (unacked.remove(id) == null) {
      ledger.lateAcks++; // the answer to a second copy of a send already acked
      return;
    }
    lastSentAt.remove(id);
    ledger.acked(new Ledger.Ack(room, f.getLong("seq"), user, id, now()));
  }

  private void onError(JsonObject f) {
    String id = f.getString("id");
    String code = f.getString("code");
    ledger.error(code);
    if (id != null && unacked.containsKey(id)) {
      lastSentAt.put(id, now() - RESEND_AFTER_MS + RETRY_AFTER_ERROR_MS);
    } else if (id == null && !joined && "unavailable".equals(code)) {
      // the join itself failed (the broker could not be reached): ask again on this socket
      WebSocket socket = ws;
      vertx.setTimer(
          RETRY_AFTER_ERROR_MS,
          t -> {
            if (ws == socket && !joined) {
              join();
            }
          });
    }
  }

  /** Called every few tens of milliseconds: acks deliveries, resends, and sends something new. */
  void tick(long now) {
    if (!healthy()) {
      return;
    }
    if (lastSeq > ackSentOnConnection) {
      ackSentOnConnection = lastSeq;
      ws.writeTextMessage(
          new JsonObject().put("type", "ack").put("room", room).put("seq", lastSeq).encode());
    }
    for (Map.Entry<String, String> e : List.copyOf(unacked.entrySet())) {
      Long at = lastSentAt.get(e.getKey());
      if (at == null || now - at >= RESEND_AFTER_MS) {
        if (at != null) {
          ledger.resends++;
        }
        write(e.getKey(), e.getValue(), now);
      }
    }
    if (sending && now >= nextSendAt && unacked.size() < MAX_IN_FLIGHT) {
      String id = user + "-" + ++nextId;
      String text = "hello " + nextId + " from " + user;
      unacked.put(id, text);
      ledger.sent++;
      write(id, text, now);
      nextSendAt = now + sendEveryMs / 2 + (long) (Math.random() * sendEveryMs);
    }
  }

  private void write(String id, String text, long now) {
    lastSentAt.put(id, now);
    ws.writeTextMessage(
        new JsonObject()
            .put("type", "send")
            .put("room", room)
            .put("id", id)
            .put("text", text)
            .encode());
  }

  /** What this client still owes, for a failure message. */
  String describe() {
    return user
        + "@node"
        + node
        + (ws == null
            ? (connecting ? " connecting" : " disconnected")
            : joined ? "" : " not joined")
        + (paused ? " paused" : "")
        + " epoch "
        + epoch
        + " lastSeq "
        + lastSeq
        + " unacked "
        + new ArrayList<>(unacked.keySet());
  }

  static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
