package dev.chat.room;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.chat.broker.Snapshot;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A hub member that records what the hub hands it, in order, and keeps the stream of seqs a session
 * would keep: a {@code joined} starts it over (or continues it, when recovered), and a delivered
 * seq it already has is dropped, as {@link Member#deliver} allows.
 */
final class RecordingMember implements Member {

  static final Duration WAIT = Duration.ofSeconds(5);

  sealed interface Event permits Joined, Delivered, Presence, Signalled {
    String room();
  }

  record Joined(String room, Snapshot snapshot) implements Event {
    @Override
    public String toString() {
      return "Joined["
          + room
          + " "
          + snapshot.epoch()
          + " #"
          + snapshot.seq()
          + ", "
          + snapshot.messages().size()
          + " messages"
          + (snapshot.recovered() ? ", recovered" : "")
          + "]";
    }
  }

  @SuppressWarnings("ArrayRecordComponent") // the frame is read as text, never compared as a record
  record Delivered(String room, long seq, byte[] frame) implements Event {
    @Override
    public String toString() {
      return "Delivered[" + room + " #" + seq + "]";
    }
  }

  record Presence(String room, JsonObject frame) implements Event {}

  /** A typing frame or read receipt. */
  record Signalled(String room, JsonObject frame) implements Event {}

  private final String user;
  private final List<Event> events = new ArrayList<>();
  private final List<Long> stream = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  private long last = -1;

  RecordingMember(String user) {
    this.user = user;
  }

  @Override
  public String user() {
    return user;
  }

  @Override
  public synchronized void joined(String room, Snapshot s) {
    events.add(new Joined(room, s));
    if (!s.recovered()) {
      stream.clear();
    } else if (!s.messages().isEmpty() && s.seqOf(0) != last + 1) {
      problems.add("recovered at " + s.seqOf(0) + " after " + last);
    }
    for (int i = 0; i < s.messages().size(); i++) {
      stream.add(s.seqOf(i));
    }
    last = s.seq();
    notifyAll();
  }

  @Override
  public synchronized void deliver(String room, long seq, byte[] frame) {
    events.add(new Delivered(room, seq, frame));
    if (last < 0) {
      problems.add("delivered " + seq + " before joined");
    } else if (seq > last) {
      stream.add(seq);
      last = seq;
    }
    notifyAll();
  }

  @Override
  public synchronized void signal(String room, byte[] frame) {
    events.add(new Signalled(room, new JsonObject(new String(frame, UTF_8))));
    notifyAll();
  }

  @Override
  public synchronized void presence(String room, byte[] frame) {
    events.add(new Presence(room, new JsonObject(new String(frame, UTF_8))));
    notifyAll();
  }

  /** The last seq of the member's stream, -1 before its first {@code joined}. */
  synchronized long last() {
    return last;
  }

  /** The seqs the member has, since its view of the room last started over. */
  synchronized List<Long> stream() {
    return List.copyOf(stream);
  }

  /**
   * What the member noticed that a session would not accept (a recovery with a hole, a message
   * before joined).
   */
  synchronized List<String> problems() {
    return List.copyOf(problems);
  }

  synchronized List<Event> events() {
    return List.copyOf(events);
  }

  synchronized List<Long> delivered() {
    return events.stream()
        .filter(e -> e instanceof Delivered)
        .map(e -> ((Delivered) e).seq())
        .toList();
  }

  synchronized List<Joined> joins() {
    return events.stream().filter(e -> e instanceof Joined).map(e -> (Joined) e).toList();
  }

  synchronized List<JsonObject> presences() {
    return events.stream()
        .filter(e -> e instanceof Presence)
        .map(e -> ((Presence) e).frame())
        .toList();
  }

  /** Waits until the member's stream reaches {@code seq}. */
  void awaitSeq(long seq) {
    awaitEvents(
        e ->
            (e instanceof Delivered d && d.seq() >= seq)
                || (e instanceof Joined j && j.snapshot().seq() >= seq),
        1,
        "seq " + seq);
  }

  /** Waits until {@code count} events match {@code p}. */
  synchronized List<Event> awaitEvents(Predicate<Event> p, int count, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      List<Event> matching = events.stream().filter(p).toList();
      if (matching.size() >= count) {
        return matching;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            user
                + " waited "
                + WAIT.toMillis()
                + " ms for "
                + count
                + " x "
                + what
                + ", got "
                + matching.size()
                + "; recorded: "
                + tail());
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  private List<Event> tail() {
    return events.subList(Math.max(0, events.size() - 20), events.size());
  }

  @Override
  public String toString() {
    return "member " + user;
  }
}
