package dev.chat.session;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.chat.protocol.CloseCode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The test side of a session's {@link Outbound}: records every frame (parsed), ping and close in
 * order, with when it happened, and lets the test thread wait for them with a deadline.
 *
 * <p>Unlike a real socket it keeps recording after a close, so a test can see a session that goes
 * on writing to a socket it closed. {@link #writeQueueFull} is a switch the test flips.
 */
final class RecordingOutbound implements Outbound {

  static final Duration WAIT = Duration.ofSeconds(5);

  /**
   * One call the session made: a frame, a ping or a close. The frame is kept as written and parsed
   * when the test first reads it, so recording costs the session's loop almost nothing.
   */
  static final class Event {
    private final long nanos;
    private final byte[] bytes;
    private final boolean ping;
    private final CloseCode close;
    private JsonObject frame;

    Event(long nanos, byte[] bytes, boolean ping, CloseCode close) {
      this.nanos = nanos;
      this.bytes = bytes;
      this.ping = ping;
      this.close = close;
    }

    /** When the session made the call, in {@link System#nanoTime()}. */
    long nanos() {
      return nanos;
    }

    /** The frame parsed, or null for a ping or close. */
    synchronized JsonObject frame() {
      if (frame == null && bytes != null) {
        frame = new JsonObject(new String(bytes, UTF_8));
      }
      return frame;
    }

    boolean ping() {
      return ping;
    }

    /** The close code, or null. */
    CloseCode close() {
      return close;
    }

    boolean isFrame(String type) {
      return bytes != null && type.equals(frame().getString("type"));
    }

    @Override
    public String toString() {
      return bytes != null
          ? new String(bytes, UTF_8)
          : ping ? "<ping>" : "<close " + close.code() + ">";
    }
  }

  private final List<Event> events = new ArrayList<>();
  private volatile boolean writeQueueFull;

  @Override
  public synchronized void send(byte[] frame) {
    record(new Event(System.nanoTime(), frame.clone(), false, null));
  }

  @Override
  public synchronized void ping() {
    record(new Event(System.nanoTime(), null, true, null));
  }

  @Override
  public synchronized void close(CloseCode code) {
    record(new Event(System.nanoTime(), null, false, code));
  }

  @Override
  public boolean writeQueueFull() {
    return writeQueueFull;
  }

  void writeQueueFull(boolean full) {
    writeQueueFull = full;
  }

  private void record(Event e) {
    events.add(e);
    notifyAll();
  }

  synchronized List<Event> events() {
    return List.copyOf(events);
  }

  /** The number of events so far: a mark for {@link #since}. */
  synchronized int mark() {
    return events.size();
  }

  /** The events recorded after {@code mark}. */
  synchronized List<Event> since(int mark) {
    return List.copyOf(events.subList(mark, events.size()));
  }

  /** Every recorded frame of {@code type}, in order. */
  synchronized List<JsonObject> frames(String type) {
    return events.stream().filter(e -> e.isFrame(type)).map(Event::frame).toList();
  }

  synchronized List<Event> pings() {
    return events.stream().filter(Event::ping).toList();
  }

  /** The close codes sent, in order; a session must send at most one. */
  synchronized List<CloseCode> closes() {
    return events.stream().filter(e -> e.close() != null).map(Event::close).toList();
  }

  /** Waits for the first frame of {@code type} that matches {@code p}. */
  JsonObject await(String type, Predicate<JsonObject> p) {
    return awaitEvents(e -> e.isFrame(type) && p.test(e.frame()), 1, "a " + type + " frame")
        .get(0)
        .frame();
  }

  JsonObject await(String type) {
    return await(type, f -> true);
  }

  /** Waits for the frame of {@code type} in {@code room} with {@code seq}. */
  JsonObject await(String type, String room, long seq) {
    return await(
        type, f -> room.equals(f.getString("room")) && Long.valueOf(seq).equals(f.getLong("seq")));
  }

  /** Waits until {@code count} events match {@code p}; returns those events. */
  List<Event> awaitEvents(Predicate<Event> p, int count, String what) {
    return awaitEvents(0, p, count, what);
  }

  /** Waits until {@code count} events after {@code mark} match {@code p}; returns those events. */
  synchronized List<Event> awaitEvents(int mark, Predicate<Event> p, int count, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      List<Event> matching = events.subList(mark, events.size()).stream().filter(p).toList();
      if (matching.size() >= count) {
        return matching;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            "waited "
                + WAIT.toMillis()
                + " ms for "
                + count
                + " x "
                + what
                + ", got "
                + matching.size()
                + "; recorded: "
                + events);
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  /** Waits for the close and returns its code. */
  CloseCode awaitClose() {
    return awaitEvents(e -> e.close() != null, 1, "a close").get(0).close();
  }

  /** Waits for {@code count} pings. */
  List<Event> awaitPings(int count) {
    return awaitEvents(Event::ping, count, "pings");
  }
}
