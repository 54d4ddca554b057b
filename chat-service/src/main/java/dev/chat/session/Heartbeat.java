package dev.chat.session;

import io.vertx.core.Vertx;
import java.util.function.LongSupplier;

/**
 * One connection's heartbeat: a ping every {@code CHAT_HEARTBEAT_INTERVAL_MS}, and a timeout after
 * {@code CHAT_HEARTBEAT_TIMEOUT_MS} without inbound traffic. Only inbound frames count ({@link
 * #inbound}): Vert.x's own idle timeout counts outbound traffic too, so a client that stopped
 * reading but is still written to would never time out. One timer, armed for the next ping or the
 * deadline, whichever is first, on the session's event loop.
 */
final class Heartbeat {

  /** What the heartbeat asks of the connection. */
  interface Peer {
    void ping();

    /** Nothing came in for the whole timeout. */
    void timedOut();
  }

  private final Vertx vertx;
  private final long intervalMs;
  private final long timeoutMs;
  private final LongSupplier clock;
  private final Peer peer;
  private long timer = -1;
  private long lastInbound;
  private long nextPing;
  private boolean stopped;

  Heartbeat(Vertx vertx, long intervalMs, long timeoutMs, LongSupplier clock, Peer peer) {
    this.vertx = vertx;
    this.intervalMs = intervalMs;
    this.timeoutMs = timeoutMs;
    this.clock = clock;
    this.peer = peer;
    long now = clock.getAsLong();
    this.lastInbound = now;
    this.nextPing = now + intervalMs;
  }

  void start() {
    arm(intervalMs);
  }

  /** A frame arrived at {@code now}: the client is alive. */
  void inbound(long now) {
    lastInbound = now;
  }

  /** Cancels the timer; nothing more is pinged or timed out. Idempotent. */
  void stop() {
    stopped = true;
    vertx.cancelTimer(timer);
  }

  private void arm(long delay) {
    timer = vertx.setTimer(Math.max(1, delay), t -> beat());
  }

  private void beat() {
    timer = -1;
    if (stopped) {
      return;
    }
    long now = clock.getAsLong();
    long deadline = lastInbound + timeoutMs;
    if (now >= deadline) {
      stopped = true;
      peer.timedOut();
      return;
    }
    if (now >= nextPing) {
      peer.ping();
      nextPing = now + intervalMs;
    }
    arm(Math.min(nextPing, deadline) - now);
  }
}
