package dev.chat.ops;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A chat client that behaves as the protocol asks through node restarts, on a thread of its own: it
 * connects (to its first endpoint until it joined, then to its endpoints in turn), joins one room
 * resuming with {@code epoch} and {@code since} (and joins again when the join is answered {@code
 * unavailable}), sends messages with de-duplication ids and sends again every one that got no ack
 * (at once after a reconnect, else after a second), acknowledges what it receives, drops seqs it
 * already has (client de-duplication), and reconnects after every close.
 *
 * <p>It keeps what a test checks: every ack, every message kept after de-duplication, every close
 * with its code and time, and any protocol surprise (a seq gap, a room that did not recover, an id
 * acked with two seqs) as a problem.
 */
final class ResumingClient implements AutoCloseable {

  /** A close of one connection: the status (1006 when it broke without a close frame) and when. */
  record Close(int code, long atNanos, URI endpoint) {}

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final long RESEND_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long REJOIN_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final String JOIN_FAILED = "join failed";
  private static final int IN_FLIGHT = 2;

  private final String user;
  private final String room;
  private final List<URI> endpoints;
  private final long sendEveryNanos;
  private final Thread thread;
  private final List<Close> closes = new CopyOnWriteArrayList<>();
  private final List<String> problems = new CopyOnWriteArrayList<>();
  private final List<String> nodes = new CopyOnWriteArrayList<>();
  // What happened to each connection, for a failed test's message; bounded.
  private final List<String> trace = new CopyOnWriteArrayList<>();
  private final long bornNanos = System.nanoTime();
  // Written by the client's thread, read by the test: guarded by this.
  private final Map<String, Long> acked = new HashMap<>();
  private final TreeMap<Long, String> received = new TreeMap<>();
  private final LinkedHashMap<String, Long> outbox = new LinkedHashMap<>();
  private long firstSeq = -1;
  private long lastSeq = -1;
  // The client's thread only.
  private String epoch;
  private int endpoint;
  private int sent;
  private long nextSendAt;
  private long ackedUpTo = -1;
  private volatile boolean sending;
  private volatile boolean stopped;
  private volatile boolean joined;

  private record Text(String text) {}

  /** One connection and what arrived on it. */
  private record Connection(WebSocket ws, LinkedBlockingQueue<Object> events) {}

  private ResumingClient(String user, String room, List<URI> endpoints, Duration sendEvery) {
    this.user = user;
    this.room = room;
    this.endpoints = List.copyOf(endpoints);
    this.sendEveryNanos = sendEvery.toNanos();
    this.thread = new Thread(this::run, "client-" + user);
    this.thread.setDaemon(true);
  }

  /**
   * Starts a client of {@code room}; {@code endpoints} are WebSocket URIs with this user, tried in
   * turn.
   */
  static ResumingClient start(String user, String room, List<URI> endpoints, Duration sendEvery) {
    ResumingClient client = new ResumingClient(user, room, endpoints, sendEvery);
    client.thread.start();
    return client;
  }

  String user() {
    return user;
  }

  /** True once the first join was answered. */
  boolean joined() {
    return joined;
  }

  /** Starts or stops sending new messages; un-acked ones are sent again regardless. */
  void sending(boolean on) {
    sending = on;
  }

  synchronized int ackedCount() {
    return acked.size();
  }

  synchronized Map<String, Long> acked() {
    return Map.copyOf(acked);
  }

  synchronized boolean allAcked() {
    return outbox.isEmpty();
  }

  synchronized long lastSeq() {
    return lastSeq;
  }

  /** The seq of the first join: messages up to it came before this client. */
  synchronized long firstSeq() {
    return firstSeq;
  }

  /** Messages kept after de-duplication, by seq, with their client ids. */
  synchronized SortedMap<Long, String> received() {
    return new TreeMap<>(received);
  }

  List<Close> closes() {
    return List.copyOf(closes);
  }

  List<String> problems() {
    return List.copyOf(problems);
  }

  /** The {@code node} of every welcome, in order: where each connection landed. */
  List<String> nodes() {
    return List.copyOf(nodes);
  }

  /**
   * What the client did and saw, connection by connection (ms since it started), with the ids still
   * waiting for an ack: what a failed test prints.
   */
  synchronized String describe() {
    return user + " outbox " + outbox.keySet() + " lastSeq " + lastSeq + ": " + trace;
  }

  private void note(String what) {
    if (trace.size() < 200) {
      trace.add((System.nanoTime() - bornNanos) / 1_000_000 + " " + what);
    }
  }

  /** The node of the current (or last) connection. */
  String node() {
    return nodes.isEmpty() ? null : nodes.get(nodes.size() - 1);
  }

  @Override
  public void close() {
    stopped = true;
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    long backoff = 50;
    while (!stopped) {
      URI uri = endpoints.get(endpoint);
      Connection c = connect(uri);
      if (c == null) {
        nextEndpoint();
        sleep(backoff);
        backoff = Math.min(500, backoff * 2);
        continue;
      }
      backoff = 50;
      converse(c.ws(), c.events(), uri);
      nextEndpoint();
    }
  }

  /**
   * The next endpoint in turn, once the first join was answered: until then the client stays on its
   * first one, where the test placed it (a handshake that timed out on a loaded machine sent it to
   * another node before the test began).
   */
  private void nextEndpoint() {
    if (joined) {
      endpoint = (endpoint + 1) % endpoints.size();
    }
  }

  private Connection connect(URI uri) {
    LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    try {
      WebSocket ws =
          HTTP.newWebSocketBuilder()
              .connectTimeout(Duration.ofSeconds(2))
              .buildAsync(uri, new Listener(events))
              .get(5, TimeUnit.SECONDS);
      return new Connection(ws, events);
    } catch (Exception refusedOrDown) {
      // 503 from a draining node, 502 from nginx with every node down, or refused: try again
      note("connect " + uri.getPort() + " failed: " + refusedOrDown);
      return null;
    }
  }

  /** One connection, until it closes (or the client stops). */
  private void converse(WebSocket ws, LinkedBlockingQueue<Object> events, URI uri) {
    boolean open = send(ws, join());
    boolean inRoom = false;
    long rejoinAt = 0;
    while (open) {
      if (stopped) {
        var unused = ws.sendClose(WebSocket.NORMAL_CLOSURE, "");
        awaitClose(events, uri, 2_000);
        ws.abort();
        return;
      }
      Object event = poll(events, 10);
      while (event != null) {
        if (event instanceof Close c) {
          note("closed " + c.code());
          closes.add(new Close(c.code(), c.atNanos(), uri));
          return;
        }
        String type = handle(((Text) event).text());
        if ("joined".equals(type) && !inRoom) {
          inRoom = true;
          open = resendAll(ws);
        } else if (JOIN_FAILED.equals(type) && !inRoom) {
          rejoinAt = System.nanoTime() + REJOIN_AFTER_NANOS;
        }
        event = events.poll();
      }
      if (open && !inRoom && rejoinAt != 0 && System.nanoTime() - rejoinAt >= 0) {
        // Until it is in the room it sends nothing else, so without this it would wait forever.
        rejoinAt = 0;
        note("join again");
        open = send(ws, join());
      }
      if (open && inRoom) {
        open = acknowledge(ws) && resendDue(ws) && sendNext(ws);
      }
    }
    // A send failed: the connection is going or gone; its close event says how it ended.
    note("send failed");
    if (!awaitClose(events, uri, 3_000)) {
      ws.abort();
      closes.add(new Close(1006, System.nanoTime(), uri));
    }
  }

  private boolean awaitClose(LinkedBlockingQueue<Object> events, URI uri, long timeoutMs) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < deadline) {
      Object event = poll(events, 10);
      if (event instanceof Close c) {
        note("closed " + c.code());
        closes.add(new Close(c.code(), c.atNanos(), uri));
        return true;
      }
    }
    return false;
  }

  private String join() {
    JsonObject join = new JsonObject().put("type", "join").put("room", room);
    synchronized (this) {
      if (epoch != null && lastSeq >= 0) {
        join.put("epoch", epoch).put("since", lastSeq);
      }
    }
    return join.encode();
  }

  private String handle(String text) {
    JsonObject f;
    try {
      f = new JsonObject(text);
    } catch (DecodeException e) {
      problems.add("not JSON: " + text);
      return null;
    }
    String type = f.getString("type", "");
    switch (type) {
      case "welcome" -> {
        nodes.add(f.getString("node"));
        note("welcome " + f.getString("node"));
      }
      case "joined" -> onJoined(f);
      case "message" -> onMessage(f);
      case "ack" -> onAck(f);
      case "error" -> {
        note("error " + f.encode());
        String code = f.getString("code");
        if ("unavailable".equals(code) && f.getString("id") == null) {
          // Only a join's error has no id: the join failed, and "retryable" says to send it again.
          return JOIN_FAILED;
        }
        if (!"unavailable".equals(code) && !"rate_limited".equals(code)) {
          problems.add("error " + f.encode());
        }
      }
      default -> {
        // presence, pong: nothing to keep
      }
    }
    return type;
  }

  private synchronized void onJoined(JsonObject f) {
    note("joined seq " + f.getLong("seq") + " recovered " + f.getBoolean("recovered"));
    String newEpoch = f.getString("epoch");
    boolean resuming = epoch != null && lastSeq >= 0;
    if (resuming && (!newEpoch.equals(epoch) || !f.getBoolean("recovered"))) {
      problems.add("resume did not recover: " + f.encode());
    }
    epoch = newEpoch;
    if (firstSeq < 0) {
      // What came before the first join is not this client's to check.
      firstSeq = f.getLong("seq");
      lastSeq = firstSeq;
    }
    joined = true;
  }

  private synchronized void onMessage(JsonObject f) {
    if (!room.equals(f.getString("room"))) {
      return;
    }
    long seq = f.getLong("seq");
    if (seq <= lastSeq) {
      return;
    }
    if (seq != lastSeq + 1) {
      problems.add("gap: seq " + seq + " after " + lastSeq);
    }
    received.put(seq, f.getString("id"));
    lastSeq = seq;
  }

  private synchronized void onAck(JsonObject f) {
    String id = f.getString("id");
    if (id == null) {
      return;
    }
    long seq = f.getLong("seq");
    Long before = acked.put(id, seq);
    if (before != null && before != seq) {
      problems.add("id " + id + " acked with seq " + before + " and " + seq);
    }
    outbox.remove(id);
  }

  private boolean acknowledge(WebSocket ws) {
    long upTo;
    synchronized (this) {
      upTo = lastSeq;
    }
    if (upTo <= ackedUpTo) {
      return true;
    }
    ackedUpTo = upTo;
    return send(
        ws, new JsonObject().put("type", "ack").put("room", room).put("seq", upTo).encode());
  }

  private boolean resendAll(WebSocket ws) {
    List<String> ids;
    synchronized (this) {
      ids = new ArrayList<>(outbox.keySet());
    }
    return resend(ws, ids);
  }

  private boolean resendDue(WebSocket ws) {
    long now = System.nanoTime();
    List<String> due = new ArrayList<>();
    synchronized (this) {
      outbox.forEach(
          (id, at) -> {
            if (now - at > RESEND_AFTER_NANOS) {
              due.add(id);
            }
          });
    }
    return resend(ws, due);
  }

  private boolean resend(WebSocket ws, List<String> ids) {
    for (String id : ids) {
      synchronized (this) {
        if (outbox.replace(id, System.nanoTime()) == null) {
          continue;
        }
      }
      note("resend " + id);
      if (!send(ws, sendFrame(id))) {
        return false;
      }
    }
    return true;
  }

  private boolean sendNext(WebSocket ws) {
    long now = System.nanoTime();
    if (!sending || now < nextSendAt) {
      return true;
    }
    String id;
    synchronized (this) {
      if (outbox.size() >= IN_FLIGHT) {
        return true;
      }
      id = user + "-" + ++sent;
      outbox.put(id, now);
    }
    nextSendAt = now + sendEveryNanos;
    return send(ws, sendFrame(id));
  }

  private String sendFrame(String id) {
    return new JsonObject()
        .put("type", "send")
        .put("room", room)
        .put("id", id)
        .put("text", "m " + id)
        .encode();
  }

  private static boolean send(WebSocket ws, String text) {
    try {
      ws.sendText(text, true).get(5, TimeUnit.SECONDS);
      return true;
    } catch (Exception closing) {
      return false;
    }
  }

  private Object poll(LinkedBlockingQueue<Object> events, long ms) {
    try {
      return events.poll(ms, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopped = true;
      return null;
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits until {@code condition} holds, polling; false if {@code timeout} passed first. */
  static boolean await(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      sleep(20);
    }
    return true;
  }

  /** Queues the connection's traffic for the client's thread; the JDK answers pings and closes. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder message = new StringBuilder();
    private final LinkedBlockingQueue<Object> events;

    Listener(LinkedBlockingQueue<Object> events) {
      this.events = events;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      message.append(data);
      if (last) {
        events.add(new Text(message.toString()));
        message.setLength(0);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      problems.add("binary frame");
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      events.add(new Close(statusCode, System.nanoTime(), null));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      events.add(new Close(1006, System.nanoTime(), null));
    }
  }
}
