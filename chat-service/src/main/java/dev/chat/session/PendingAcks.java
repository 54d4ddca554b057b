package dev.chat.session;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * The messages a connection has sent and the client has not acknowledged yet, per room, with
 * when each is due for redelivery: the first after {@code ackTimeoutMs}, then doubling.
 */
final class PendingAcks {

  /** One unacknowledged message. */
  static final class Pending {
    final long seq;
    final byte[] frame;
    int redeliveries;
    long dueAt;

    Pending(long seq, byte[] frame, long dueAt) {
      this.seq = seq;
      this.frame = frame;
      this.dueAt = dueAt;
    }
  }

  /** What a redelivery pass found: frames to send again, or that a message ran out of tries. */
  interface Redeliver {
    void frame(byte[] messageFrame);
  }

  private final long ackTimeoutMs;
  private final int maxRedeliveries;
  private final Map<String, ArrayDeque<Pending>> byRoom = new HashMap<>();
  private int size;

  PendingAcks(long ackTimeoutMs, int maxRedeliveries) {
    this.ackTimeoutMs = ackTimeoutMs;
    this.maxRedeliveries = maxRedeliveries;
  }

  int size() {
    return size;
  }

  void add(String room, long seq, byte[] frame, long now) {
    byRoom.computeIfAbsent(room, r -> new ArrayDeque<>()).add(new Pending(seq, frame, now + ackTimeoutMs));
    size++;
  }

  /** Acknowledges every message of {@code room} up to and including {@code seq}. */
  void ack(String room, long seq) {
    ArrayDeque<Pending> q = byRoom.get(room);
    if (q == null) {
      return;
    }
    while (!q.isEmpty() && q.peekFirst().seq <= seq) {
      q.pollFirst();
      size--;
    }
    if (q.isEmpty()) {
      byRoom.remove(room);
    }
  }

  /** Forgets a room's pending messages (the client left it, or its view starts over). */
  void clear(String room) {
    ArrayDeque<Pending> q = byRoom.remove(room);
    if (q != null) {
      size -= q.size();
    }
  }

  /**
   * Redelivers what is due at {@code now} through {@code out}. Returns false, sending nothing
   * more, when a due message was already redelivered {@code maxRedeliveries} times.
   */
  boolean redeliverDue(long now, Redeliver out) {
    for (ArrayDeque<Pending> q : byRoom.values()) {
      for (Iterator<Pending> it = q.iterator(); it.hasNext(); ) {
        Pending p = it.next();
        if (p.dueAt > now) {
          continue;
        }
        if (p.redeliveries >= maxRedeliveries) {
          return false;
        }
        p.redeliveries++;
        p.dueAt = now + (ackTimeoutMs << Math.min(p.redeliveries, 20));
        out.frame(p.frame);
      }
    }
    return true;
  }

  /** The earliest due time, or {@code Long.MAX_VALUE} when nothing is pending. */
  long nextDue() {
    long next = Long.MAX_VALUE;
    for (ArrayDeque<Pending> q : byRoom.values()) {
      for (Pending p : q) {
        next = Math.min(next, p.dueAt);
      }
    }
    return next;
  }
}
