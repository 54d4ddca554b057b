package dev.chat.session;

import java.util.HashMap;
import java.util.Map;

/**
 * The messages a connection has sent and the client has not acknowledged yet, per room, with when
 * each is due for redelivery: the first after {@code ackTimeoutMs}, then doubling.
 *
 * <p>This is on the fan-out path, once per recipient: a room's messages are kept in a ring of
 * parallel arrays (no object per message), a ring stays in place when acked empty (no map entry
 * made and dropped per ack cycle), and the last room used is remembered, so a socket in one busy
 * room finds its ring without a map lookup. Rings go with {@link #clear} (leave, rejoin).
 */
final class PendingAcks {

  /** What a redelivery pass found: frames to send again, or that a message ran out of tries. */
  interface Redeliver {
    void frame(byte[] messageFrame);
  }

  /** One room's unacknowledged messages, oldest first. */
  static final class Ring {
    private long[] seqs = new long[INITIAL];
    private long[] dueAts = new long[INITIAL];
    private int[] redeliveries = new int[INITIAL];
    private byte[][] frames = new byte[INITIAL][];
    private int head;
    private int count;

    int size() {
      return count;
    }

    void add(long seq, byte[] frame, long dueAt) {
      if (count == seqs.length) {
        grow();
      }
      int i = (head + count) & (seqs.length - 1);
      seqs[i] = seq;
      frames[i] = frame;
      dueAts[i] = dueAt;
      redeliveries[i] = 0;
      count++;
    }

    /** Drops the oldest messages up to and including {@code seq}; returns how many. */
    int ackUpTo(long seq) {
      int dropped = 0;
      int mask = seqs.length - 1;
      while (count > 0 && seqs[head] <= seq) {
        frames[head] = null;
        head = (head + 1) & mask;
        count--;
        dropped++;
      }
      return dropped;
    }

    private void grow() {
      int n = seqs.length;
      long[] s = new long[n * 2];
      long[] d = new long[n * 2];
      int[] r = new int[n * 2];
      byte[][] f = new byte[n * 2][];
      for (int k = 0; k < count; k++) {
        int i = (head + k) & (n - 1);
        s[k] = seqs[i];
        d[k] = dueAts[i];
        r[k] = redeliveries[i];
        f[k] = frames[i];
      }
      seqs = s;
      dueAts = d;
      redeliveries = r;
      frames = f;
      head = 0;
    }
  }

  private static final int INITIAL = 8;

  private final long ackTimeoutMs;
  private final int maxRedeliveries;
  private final Map<String, Ring> byRoom = new HashMap<>(4);
  private String lastRoom;
  private Ring lastRing;
  private int size;

  PendingAcks(long ackTimeoutMs, int maxRedeliveries) {
    this.ackTimeoutMs = ackTimeoutMs;
    this.maxRedeliveries = maxRedeliveries;
  }

  int size() {
    return size;
  }

  // Identity, not equals: the hub passes the same room String to every member, so a hit skips the
  // map lookup; a miss only costs that lookup.
  @SuppressWarnings("ReferenceEquality")
  void add(String room, long seq, byte[] frame, long now) {
    Ring ring = room == lastRoom ? lastRing : ring(room);
    ring.add(seq, frame, now + ackTimeoutMs);
    size++;
  }

  /** Acknowledges every message of {@code room} up to and including {@code seq}. */
  void ack(String room, long seq) {
    Ring ring = byRoom.get(room);
    if (ring != null) {
      size -= ring.ackUpTo(seq);
    }
  }

  /** Forgets a room's pending messages (the client left it, or its view starts over). */
  void clear(String room) {
    Ring ring = byRoom.remove(room);
    if (ring != null) {
      size -= ring.count;
      if (ring == lastRing) {
        lastRoom = null;
        lastRing = null;
      }
    }
  }

  /**
   * Redelivers what is due at {@code now} through {@code out}. Returns false, sending nothing more,
   * when a due message was already redelivered {@code maxRedeliveries} times.
   */
  boolean redeliverDue(long now, Redeliver out) {
    for (Ring ring : byRoom.values()) {
      int mask = ring.seqs.length - 1;
      for (int k = 0; k < ring.count; k++) {
        int i = (ring.head + k) & mask;
        if (ring.dueAts[i] > now) {
          continue;
        }
        if (ring.redeliveries[i] >= maxRedeliveries) {
          return false;
        }
        int tries = ++ring.redeliveries[i];
        ring.dueAts[i] = now + (ackTimeoutMs << Math.min(tries, 20));
        out.frame(ring.frames[i]);
      }
    }
    return true;
  }

  /** The earliest due time, or {@code Long.MAX_VALUE} when nothing is pending. */
  long nextDue() {
    long next = Long.MAX_VALUE;
    for (Ring ring : byRoom.values()) {
      int mask = ring.seqs.length - 1;
      for (int k = 0; k < ring.count; k++) {
        next = Math.min(next, ring.dueAts[(ring.head + k) & mask]);
      }
    }
    return next;
  }

  private Ring ring(String room) {
    Ring ring = byRoom.get(room);
    if (ring == null) {
      ring = new Ring();
      byRoom.put(room, ring);
    }
    lastRoom = room;
    lastRing = ring;
    return ring;
  }
}
