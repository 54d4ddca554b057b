package dev.chat.testing;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One chat client that behaves as the protocol asks through faults, confined to its {@link
 * ResumingClients fleet}'s single event loop: it joins one room (resuming with {@code epoch} and
 * {@code since} after every reconnect, and joining again when the join is answered {@code
 * unavailable}), sends messages with de-duplication ids and sends each again with the same id until
 * it is acked (at once after a reconnect, else after {@link Settings#resendAfterMs}), acknowledges
 * what it receives, drops seqs it already has, and after every close reconnects to its next
 * endpoint.
 *
 * <p>It stays on its first endpoint until its first join was answered (the test placed it there; a
 * handshake that timed out on a loaded machine must not move it before the test began), then takes
 * its endpoints in turn. An endpoint is a function of the user, so a test can move a node to a new
 * port.
 *
 * <p>It keeps what a test checks: every ack with when it came, every message accepted after
 * de-duplication (by epoch and seq), every close with its code, time and endpoint, the node of
 * every welcome, counts of what it did, and every protocol surprise as a {@link #problems()
 * problem}: a seq gap, one seq carrying two messages, {@code recovered:true} across epochs; unless
 * {@link Settings#dataLossExpected} also a resume that did not recover, an id acked with two seqs
 * and an error other than {@code unavailable} or {@code rate_limited}.
 *
 * <p>Its accessors may be called from any thread: off the event loop they run on it and wait.
 */
public final class ResumingChatClient {

  /** A close of one connection: the status (1006 when it broke without a close frame) and when. */
  public record Close(int code, long atNanos, URI endpoint) {}

  /** An ack the service gave for a send: it promises (room, seq) holds (from, id). */
  public record Ack(String room, long seq, String from, String id, long atMs) {
    /** {@code from/id}, as {@link #received()} holds it. */
    public String key() {
      return from + "/" + id;
    }
  }

  /**
   * How the clients of a fleet behave.
   *
   * @param sendEveryMs mean time between two new messages (each gap is drawn from ½× to 1½×)
   * @param resendAfterMs an un-acked send is sent again (same id) after this long without an answer
   * @param historyOnJoin the service's {@code CHAT_HISTORY_ON_JOIN}: a fresh join replays that many
   *     messages, which the client then accepts; 0 drops the replay as duplicates (what came before
   *     the first join is not this client's to check)
   * @param dataLossExpected the test loses Redis's data on purpose: a resume answered with {@code
   *     recovered:false} (a new epoch), an id acked again with another seq and an unexpected error
   *     code are counted instead of being problems
   */
  public record Settings(
      long sendEveryMs, long resendAfterMs, int historyOnJoin, boolean dataLossExpected) {

    /** A message every {@code sendEveryMs} on average, resent after 1 s, no replay, no loss. */
    public static Settings sendingEvery(long sendEveryMs) {
      return new Settings(sendEveryMs, 1_000, 0, false);
    }

    public Settings resendAfterMs(long ms) {
      return new Settings(sendEveryMs, ms, historyOnJoin, dataLossExpected);
    }

    public Settings historyOnJoin(int messages) {
      return new Settings(sendEveryMs, resendAfterMs, messages, dataLossExpected);
    }

    public Settings expectingDataLoss() {
      return new Settings(sendEveryMs, resendAfterMs, historyOnJoin, true);
    }
  }

  /** After an error answer ({@code unavailable}, {@code rate_limited}) the send is retried soon. */
  private static final long RETRY_AFTER_ERROR_MS = 300;

  private static final int MAX_IN_FLIGHT = 2;
  private static final int PROBLEMS_KEPT = 40;
  private static final int TRACE_KEPT = 200;

  private final String user;
  private final String room;
  private final List<Function<String, URI>> endpoints;
  private final Settings settings;
  private final Vertx vertx;
  private final Context loop;
  private final WebSocketClient sockets;
  private final long bornNanos = System.nanoTime();

  private int endpoint;
  private WebSocket ws;
  private boolean connecting;
  private boolean joined;
  private boolean everJoined;
  private boolean paused;
  private boolean sending;
  private boolean shutdown;
  private long nextSendAt;
  private int nextId;

  /** The epoch this client knows of the room, null before its first joined frame. */
  private String epoch;

  /** The last seq accepted in {@link #epoch}; -1 when there is none. */
  private long lastSeq = -1;

  /** The first seq of this client's current unbroken run in {@link #epoch}. */
  private long runStart = -1;

  private long ackSentOnConnection = -1;

  /** Un-acked sends: id → text, in creation order. */
  private final LinkedHashMap<String, String> unacked = new LinkedHashMap<>();

  /** When each un-acked send was last written on this connection (absent: not yet). */
  private final Map<String, Long> lastSentAt = new HashMap<>();

  /** Accepted deliveries: epoch → seq → "from/id". */
  private final Map<String, TreeMap<Long, String>> seen = new HashMap<>();

  /** The first ack of each id, in order. */
  private final LinkedHashMap<String, Ack> acks = new LinkedHashMap<>();

  private final List<Close> closes = new ArrayList<>();
  private final List<String> nodes = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  private final List<String> trace = new ArrayList<>();
  private final Map<String, Integer> errors = new TreeMap<>();
  private int problemCount;
  private long sent;
  private long delivered;
  private long duplicates;
  private long resets;
  private long sameEpochResets;
  private long resends;
  private long lateAcks;
  private long connectFailures;

  ResumingChatClient(
      String user,
      String room,
      List<Function<String, URI>> endpoints,
      Settings settings,
      Vertx vertx,
      Context loop,
      WebSocketClient sockets) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("no endpoint");
    }
    this.user = user;
    this.room = room;
    this.endpoints = List.copyOf(endpoints);
    this.settings = settings;
    this.vertx = vertx;
    this.loop = loop;
    this.sockets = sockets;
  }

  public String user() {
    return user;
  }

  public String room() {
    return room;
  }

  /** Connected, joined and reading: the state every client returns to after a fault. */
  public boolean healthy() {
    return read(() -> ws != null && joined && !paused);
  }

  /** True once the first join was answered. */
  public boolean joined() {
    return read(() -> everJoined);
  }

  /** Nothing sent is still waiting for its ack. */
  public boolean allAcked() {
    return read(unacked::isEmpty);
  }

  public int unackedCount() {
    return read(unacked::size);
  }

  /** Starts or stops sending new messages; un-acked ones are sent again regardless. */
  public void sending(boolean on) {
    run(() -> sending = on);
  }

  /**
   * Plays a consumer that stops reading: no frame is taken off the socket until {@link #resume}.
   */
  public void pause() {
    run(
        () -> {
          paused = true;
          if (ws != null) {
            ws.pause();
          }
        });
  }

  public void resume() {
    run(
        () -> {
          paused = false;
          if (ws != null) {
            ws.resume();
          }
        });
  }

  /** The epoch this client is in, null before its first join. */
  public String epoch() {
    return read(() -> epoch);
  }

  /** The last seq accepted in the current epoch; -1 when there is none. */
  public long lastSeq() {
    return read(() -> lastSeq);
  }

  /**
   * The first seq of the current unbroken run in the current epoch: what came before it (before the
   * first join, or before the last reset) is not this client's to check.
   */
  public long runStart() {
    return read(() -> runStart);
  }

  /** Messages accepted in the current epoch, seq → "from/id". */
  public SortedMap<Long, String> received() {
    return read(() -> epoch == null ? new TreeMap<>() : new TreeMap<>(seen.get(epoch)));
  }

  /** Messages accepted in every epoch: epoch → seq → "from/id". */
  public Map<String, SortedMap<Long, String>> receivedByEpoch() {
    return read(
        () -> {
          Map<String, SortedMap<Long, String>> copy = new HashMap<>();
          seen.forEach((e, messages) -> copy.put(e, new TreeMap<>(messages)));
          return copy;
        });
  }

  /** The first ack of every id this client sent, in the order they came. */
  public List<Ack> acks() {
    return read(() -> List.copyOf(acks.values()));
  }

  /** "from/id" → acked seq, for every acked send. */
  public Map<String, Long> acked() {
    return read(
        () -> {
          Map<String, Long> byKey = new HashMap<>();
          acks.values().forEach(a -> byKey.put(a.key(), a.seq()));
          return byKey;
        });
  }

  public int ackedCount() {
    return read(acks::size);
  }

  public List<Close> closes() {
    return read(() -> List.copyOf(closes));
  }

  /** The {@code node} of every welcome, in order: where each connection landed. */
  public List<String> nodes() {
    return read(() -> List.copyOf(nodes));
  }

  /** The node of the current (or last) connection. */
  public String node() {
    return read(() -> nodes.isEmpty() ? null : nodes.get(nodes.size() - 1));
  }

  /** The first {@value #PROBLEMS_KEPT} problems; {@link #problemCount} counts them all. */
  public List<String> problems() {
    return read(() -> List.copyOf(problems));
  }

  public int problemCount() {
    return read(() -> problemCount);
  }

  /** Error frames received, by code. */
  public Map<String, Integer> errors() {
    return read(() -> Map.copyOf(errors));
  }

  public long sent() {
    return read(() -> sent);
  }

  public long delivered() {
    return read(() -> delivered);
  }

  /** Messages dropped because their seq was already accepted (or replayed before the run). */
  public long duplicates() {
    return read(() -> duplicates);
  }

  /** Joins answered {@code recovered:false} after the first one: the room's view started over. */
  public long resets() {
    return read(() -> resets);
  }

  /** Resets that kept the epoch: a refused resume the service had no reason to refuse. */
  public long sameEpochResets() {
    return read(() -> sameEpochResets);
  }

  public long resends() {
    return read(() -> resends);
  }

  /** Acks for an id already acked: the answer to a second copy. */
  public long lateAcks() {
    return read(() -> lateAcks);
  }

  public long connectFailures() {
    return read(() -> connectFailures);
  }

  /**
   * What the client is doing, still owes and did, connection by connection (ms since it started):
   * what a failed test prints.
   */
  public String describe() {
    return read(
        () ->
            user
                + " endpoint "
                + endpoint
                + (ws == null
                    ? (connecting ? " connecting" : " disconnected")
                    : joined ? "" : " not joined")
                + (paused ? " paused" : "")
                + " epoch "
                + epoch
                + " lastSeq "
                + lastSeq
                + " unacked "
                + new ArrayList<>(unacked.keySet())
                + ": "
                + trace);
  }

  /** The test is over: no more reconnecting; the socket is closed. Idempotent. */
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
    URI uri = endpoints.get(endpoint).apply(user);
    WebSocketConnectOptions options =
        new WebSocketConnectOptions()
            .setHost(uri.getHost())
            .setPort(uri.getPort())
            .setURI(uri.getRawPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()))
            .setTimeout(5_000);
    sockets
        .connect(options)
        .onComplete(
            ar -> {
              connecting = false;
              if (ar.failed()) {
                // 503 from a draining node, 502 from nginx with every node down, or refused
                connectFailures++;
                note("connect " + uri.getPort() + " failed: " + ar.cause());
                nextEndpoint();
                vertx.setTimer(100 + ThreadLocalRandom.current().nextLong(200), t -> connect());
                return;
              }
              attach(ar.result(), uri);
            });
  }

  private void attach(WebSocket socket, URI uri) {
    if (shutdown) {
      socket.close();
      return;
    }
    ws = socket;
    joined = false;
    ackSentOnConnection = -1;
    lastSentAt.clear();
    socket.textMessageHandler(
        text -> {
          if (ws == socket) {
            onFrame(text);
          }
        });
    socket.binaryMessageHandler(b -> problem("binary frame"));
    boolean[] closeSeen = {false};
    // The close is when its frame arrives: the TCP close behind it can come after the node stopped.
    socket.frameHandler(
        frame -> {
          if (frame.isClose() && ws == socket && !shutdown && !closeSeen[0]) {
            closeSeen[0] = true;
            closed(frame.closeStatusCode(), uri);
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
          ws = null;
          joined = false;
          if (shutdown) {
            return;
          }
          if (!closeSeen[0]) {
            Short code = socket.closeStatusCode();
            closed(code == null ? 1006 : code, uri);
          }
          nextEndpoint();
          vertx.setTimer(50 + ThreadLocalRandom.current().nextLong(200), t -> connect());
        });
    if (paused) {
      socket.pause();
    }
  }

  private void closed(int status, URI uri) {
    note("closed " + status);
    closes.add(new Close(status, System.nanoTime(), uri));
  }

  private void nextEndpoint() {
    if (everJoined) {
      endpoint = (endpoint + 1) % endpoints.size();
    }
  }

  private void onFrame(String text) {
    JsonObject f;
    try {
      f = new JsonObject(text);
    } catch (DecodeException e) {
      problem("not JSON: " + text);
      return;
    }
    switch (f.getString("type", "")) {
      case "welcome" -> {
        nodes.add(f.getString("node"));
        note("welcome " + f.getString("node"));
        join();
      }
      case "joined" -> onJoined(f);
      case "message" -> onMessage(f);
      case "ack" -> onAck(f);
      case "error" -> onError(f);
      default -> {
        // presence, pong: nothing to keep
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
    boolean recovered = f.getBoolean("recovered", false);
    note("joined seq " + f.getLong("seq") + " recovered " + recovered);
    if (recovered) {
      if (!newEpoch.equals(epoch)) {
        problem("recovered:true in epoch " + newEpoch + " after " + epoch);
      }
    } else {
      // A new view: the replay is exactly the latest historyOnJoin messages up to the joined seq.
      if (epoch != null) {
        resets++;
        if (epoch.equals(newEpoch)) {
          sameEpochResets++;
        }
        if (!settings.dataLossExpected()) {
          problem("resume did not recover: " + f.encode());
        }
      }
      epoch = newEpoch;
      lastSeq = Math.max(0, f.getLong("seq") - settings.historyOnJoin());
      ackSentOnConnection = -1; // seqs start over in a new epoch: ack them from the start
      runStart = lastSeq + 1;
      seen.computeIfAbsent(epoch, e -> new TreeMap<>());
    }
    boolean first = !joined;
    joined = true;
    everJoined = true;
    if (first) {
      long now = now();
      for (Map.Entry<String, String> e : unacked.entrySet()) {
        write(e.getKey(), e.getValue(), now);
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
      duplicates++;
      String earlier = mine.get(seq);
      if (earlier != null && !earlier.equals(key)) {
        problem("seq " + seq + " of epoch " + epoch + " was " + earlier + ", now " + key);
      }
      return;
    }
    if (seq != lastSeq + 1) {
      problem(
          "gap in "
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
    mine.put(seq, key);
    delivered++;
  }

  private void onAck(JsonObject f) {
    String id = f.getString("id");
    if (id == null) {
      return;
    }
    long seq = f.getLong("seq");
    if (unacked.remove(id) == null) {
      lateAcks++; // the answer to a second copy of a send already acked
      Ack first = acks.get(id);
      if (first != null && first.seq() != seq && !settings.dataLossExpected()) {
        problem("id " + id + " acked with seq " + first.seq() + " and " + seq);
      }
      return;
    }
    lastSentAt.remove(id);
    acks.put(id, new Ack(room, seq, user, id, now()));
  }

  private void onError(JsonObject f) {
    String id = f.getString("id");
    String code = f.getString("code");
    note("error " + f.encode());
    errors.merge(String.valueOf(code), 1, Integer::sum);
    boolean retryable = "unavailable".equals(code) || "rate_limited".equals(code);
    if (!retryable && !settings.dataLossExpected()) {
      problem("error " + f.encode());
    }
    if (id != null && unacked.containsKey(id)) {
      lastSentAt.put(id, now() - settings.resendAfterMs() + RETRY_AFTER_ERROR_MS);
    } else if (id == null && !joined && "unavailable".equals(code)) {
      // Only a join's error has no id: the broker could not be reached; ask again on this socket.
      // Until it is in the room it sends nothing else, so without this it would wait forever.
      WebSocket socket = ws;
      vertx.setTimer(
          RETRY_AFTER_ERROR_MS,
          t -> {
            if (ws == socket && !joined) {
              note("join again");
              join();
            }
          });
    }
  }

  /** Called every few tens of milliseconds: acks deliveries, resends, and sends something new. */
  void tick(long now) {
    if (ws == null || !joined || paused) {
      return;
    }
    if (lastSeq > ackSentOnConnection) {
      ackSentOnConnection = lastSeq;
      ws.writeTextMessage(
          new JsonObject().put("type", "ack").put("room", room).put("seq", lastSeq).encode());
    }
    for (Map.Entry<String, String> e : List.copyOf(unacked.entrySet())) {
      Long at = lastSentAt.get(e.getKey());
      if (at == null || now - at >= settings.resendAfterMs()) {
        if (at != null) {
          resends++;
          note("resend " + e.getKey());
        }
        write(e.getKey(), e.getValue(), now);
      }
    }
    if (sending && now >= nextSendAt && unacked.size() < MAX_IN_FLIGHT) {
      String id = user + "-" + ++nextId;
      String text = "hello " + nextId + " from " + user;
      unacked.put(id, text);
      sent++;
      write(id, text, now);
      long every = settings.sendEveryMs();
      nextSendAt = now + every / 2 + ThreadLocalRandom.current().nextLong(every + 1);
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

  private void problem(String what) {
    problemCount++;
    note("PROBLEM " + what);
    if (problems.size() < PROBLEMS_KEPT) {
      problems.add(user + ": " + what);
    }
  }

  private void note(String what) {
    if (trace.size() < TRACE_KEPT) {
      trace.add((System.nanoTime() - bornNanos) / 1_000_000 + " " + what);
    }
  }

  private <T> T read(Supplier<T> state) {
    return ResumingClients.onLoop(loop, state::get);
  }

  private void run(Runnable action) {
    read(
        () -> {
          action.run();
          return null;
        });
  }

  /** Milliseconds on the monotonic clock: the time base of {@link Ack#atMs}. */
  public static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
