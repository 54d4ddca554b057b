package dev.chat.testing;

import io.vertx.core.json.JsonObject;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A chat client as the tests drive it, over a {@link WsClient}: it keeps every frame it received,
 * in order and with its arrival time, and waits for the frames a test asks for without losing the
 * others (a sender's own message may arrive before or after its ack).
 *
 * <p>With auto-ack on it acknowledges each message as a real client does ({@code ack} with the
 * message's seq, cumulative per room). One thread drives a peer at a time.
 */
public final class ChatPeer implements AutoCloseable {

  public static final Duration WAIT = Duration.ofSeconds(10);

  private final WsClient ws;
  private final ChatNode node;
  private final JsonObject welcome;
  private final boolean autoAck;
  private final List<JsonObject> received = new ArrayList<>();
  private final IdentityHashMap<JsonObject, Long> arrivals = new IdentityHashMap<>();

  // A list: claim() resumes from the index it checked last and removes from the middle.
  @SuppressWarnings("JdkObsolete")
  private final LinkedList<JsonObject> unclaimed = new LinkedList<>();

  private ChatPeer(WsClient ws, ChatNode node, boolean autoAck) {
    this.ws = ws;
    this.node = node;
    this.autoAck = autoAck;
    this.welcome = ws.welcome();
  }

  public static ChatPeer connect(ChatNode node, String user, boolean autoAck) {
    WsClient ws = WsClient.connect(node.wsUri(user));
    try {
      return new ChatPeer(ws, node, autoAck);
    } catch (RuntimeException | AssertionError e) {
      ws.close();
      throw e;
    }
  }

  /** A client on {@code node} at {@code uri} (for example with a {@code token}). */
  public static ChatPeer connect(ChatNode node, URI uri, boolean autoAck) {
    WsClient ws = WsClient.connect(uri);
    try {
      return new ChatPeer(ws, node, autoAck);
    } catch (RuntimeException | AssertionError e) {
      ws.close();
      throw e;
    }
  }

  public JsonObject welcome() {
    return welcome;
  }

  public String user() {
    return welcome.getString("user");
  }

  public ChatNode node() {
    return node;
  }

  public void send(JsonObject frame) {
    ws.send(frame);
  }

  public void sendText(String text) {
    ws.sendText(text);
  }

  /** Joins {@code room} and returns its {@code joined} frame. */
  public JsonObject join(String room) {
    send(ClientFrames.join(room));
    return awaitJoined(room);
  }

  /** Joins {@code room} resuming from {@code since} in {@code epoch}. */
  public JsonObject resume(String room, String epoch, long since) {
    send(ClientFrames.resume(room, epoch, since));
    return awaitJoined(room);
  }

  public JsonObject awaitJoined(String room) {
    return claim(
        f -> "joined".equals(f.getString("type")) && room.equals(f.getString("room")),
        "joined " + room);
  }

  /** Sends a {@code send} frame without waiting for its answer. */
  public void post(String room, String id, String text) {
    send(ClientFrames.send(room, id, text));
  }

  /** Sends a message and returns the answer with its id: the {@code ack} or an {@code error}. */
  public JsonObject say(String room, String id, String text) {
    post(room, id, text);
    return answer(id);
  }

  /** Sends a direct message and returns the answer with its id. */
  public JsonObject dm(String to, String id, String text) {
    send(ClientFrames.dm(to, id, text));
    return answer(id);
  }

  /** The {@code ack} or {@code error} answering the send or dm with {@code id}. */
  public JsonObject answer(String id) {
    return claim(
        f ->
            ("ack".equals(f.getString("type")) || "error".equals(f.getString("type")))
                && id.equals(f.getString("id")),
        "the answer to " + id);
  }

  /** Acknowledges every message of {@code room} up to {@code seq}. */
  public void ack(String room, long seq) {
    send(ClientFrames.ack(room, seq));
  }

  /** Proves the connection open and answering: a {@code ping} gets its {@code pong}. */
  public void pingPong() {
    send(new JsonObject().put("type", "ping"));
    claim(f -> "pong".equals(f.getString("type")), "pong");
  }

  /**
   * The first frame matching {@code predicate} that no earlier wait took, waiting up to {@link
   * #WAIT} for it; every frame stays in {@link #received}.
   */
  public JsonObject claim(Predicate<JsonObject> predicate, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    int checked = 0;
    while (true) {
      for (Iterator<JsonObject> it = unclaimed.listIterator(checked); it.hasNext(); checked++) {
        JsonObject frame = it.next();
        if (predicate.test(frame)) {
          it.remove();
          return frame;
        }
      }
      if (!pump(deadline)) {
        throw new AssertionError(
            user() + " got no " + what + " within " + WAIT + "; last unclaimed " + tail(unclaimed));
      }
    }
  }

  /** Every {@code message} frame of {@code room} received so far, redelivered ones included. */
  public List<JsonObject> messages(String room) {
    return received.stream()
        .filter(f -> "message".equals(f.getString("type")) && room.equals(f.getString("room")))
        .toList();
  }

  /** Waits until {@code count} message frames of {@code room} have arrived; returns them all. */
  public List<JsonObject> awaitMessages(String room, int count) {
    return awaitMessages(room, count, WAIT);
  }

  public List<JsonObject> awaitMessages(String room, int count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (messages(room).size() < count) {
      if (!pump(deadline)) {
        throw new AssertionError(
            user()
                + " got "
                + messages(room).size()
                + " of "
                + count
                + " messages of "
                + room
                + " within "
                + timeout
                + "; last "
                + tail(messages(room)));
      }
    }
    return messages(room);
  }

  /** Waits until a message of {@code room} with {@code seq} or later has arrived. */
  public void awaitSeq(String room, long seq) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (messages(room).stream().noneMatch(m -> m.getLong("seq") >= seq)) {
      if (!pump(deadline)) {
        throw new AssertionError(
            user()
                + " got no message of "
                + room
                + " with seq "
                + seq
                + " within "
                + WAIT
                + "; last "
                + tail(messages(room)));
      }
    }
  }

  /** Takes in whatever arrives until nothing has for {@code quiet}; returns the new frames. */
  public List<JsonObject> settle(Duration quiet) {
    int before = received.size();
    while (pump(System.nanoTime() + quiet.toNanos())) {
      // keep reading
    }
    return List.copyOf(received.subList(before, received.size()));
  }

  /** Every frame received so far, in order (the welcome excluded). */
  public List<JsonObject> received() {
    return List.copyOf(received);
  }

  /** When {@code frame} arrived, in {@link System#nanoTime()} units. */
  public long arrivedAt(JsonObject frame) {
    Long at = arrivals.get(frame);
    if (at == null) {
      throw new IllegalArgumentException("not a frame of this peer: " + frame);
    }
    return at;
  }

  public int awaitClose(Duration timeout) {
    return ws.awaitClose(timeout);
  }

  public boolean isClosed() {
    return ws.isClosed();
  }

  /** Drops the TCP connection without a close frame, like a client losing its network. */
  public void abort() {
    ws.abort();
  }

  @Override
  public void close() {
    ws.close();
  }

  @Override
  public String toString() {
    return user() + "@" + node.name();
  }

  /** Reads one frame, waiting until {@code deadline} at most; false if none came. */
  private boolean pump(long deadline) {
    JsonObject frame = poll(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    if (frame == null) {
      return false;
    }
    arrivals.put(frame, System.nanoTime());
    received.add(frame);
    unclaimed.add(frame);
    if (autoAck && "message".equals(frame.getString("type")) && !ws.isClosed()) {
      try {
        ack(frame.getString("room"), frame.getLong("seq"));
      } catch (UncheckedIOException closing) {
        // the server closed the connection meanwhile; the test will see the close
      }
    }
    return true;
  }

  /**
   * The last frames of {@code frames}, enough to see what went wrong without flooding the report.
   */
  private static List<JsonObject> tail(List<JsonObject> frames) {
    return frames.subList(Math.max(0, frames.size() - 20), frames.size());
  }

  private JsonObject poll(Duration timeout) {
    try {
      return ws.next(timeout);
    } catch (AssertionError nothingWithinTimeout) {
      // WsClient.next reports an empty wait as a failure; here it only ends this read
      return null;
    }
  }
}
