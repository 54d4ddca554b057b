package dev.chat.session;

import io.vertx.core.Vertx;
import java.util.function.LongSupplier;

/**
 * The one timer that redelivers a connection's unacknowledged messages ({@link PendingAcks}) when
 * they fall due. Deadlines are {@code now + CHAT_ACK_TIMEOUT_MS} for a new message, so the armed
 * timer is usually due first already and a new message costs no timer at all; an earlier deadline
 * (a new message behind an older one's longer backoff) re-arms it.
 */
final class RedeliveryTimer {

  /** What a due pass does to the connection. */
  interface Peer {
    /** Sends one message again, as a {@code redelivered} frame. */
    void resend(byte[] messageFrame);

    /** A message ran out of redeliveries: the client is not acknowledging. */
    void exhausted();
  }

  private final Vertx vertx;
  private final PendingAcks pending;
  private final LongSupplier clock;
  private final Peer peer;
  private long timer = -1;
  private long at;
  private boolean stopped;

  RedeliveryTimer(Vertx vertx, PendingAcks pending, LongSupplier clock, Peer peer) {
    this.vertx = vertx;
    this.pending = pending;
    this.clock = clock;
    this.peer = peer;
  }

  /** Makes the timer fire by {@code dueAt}; {@code now} is the current time. */
  void dueBy(long dueAt, long now) {
    if (stopped) {
      return;
    }
    if (timer != -1) {
      if (at <= dueAt) {
        return;
      }
      vertx.cancelTimer(timer);
    }
    at = dueAt;
    timer = vertx.setTimer(Math.max(1, dueAt - now), t -> fire());
  }

  /** Cancels the timer; nothing more is redelivered. Idempotent. */
  void stop() {
    stopped = true;
    vertx.cancelTimer(timer);
  }

  private void fire() {
    timer = -1;
    if (stopped) {
      return;
    }
    long now = clock.getAsLong();
    if (!pending.redeliverDue(now, peer::resend)) {
      stopped = true;
      peer.exhausted();
      return;
    }
    long next = pending.nextDue();
    if (next != Long.MAX_VALUE) {
      dueBy(next, now);
    }
  }
}
