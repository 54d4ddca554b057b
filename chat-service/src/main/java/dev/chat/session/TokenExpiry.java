package dev.chat.session;

import dev.chat.auth.Identity;
import io.vertx.core.Vertx;

/**
 * Closes a connection when its token expires. The expiry is wall-clock time, as the token's {@code
 * exp} is, but timers run on the monotonic clock: a long wait is armed a day at a time and re-reads
 * the wall clock, so a clock step moves the close with it.
 */
final class TokenExpiry {

  private static final long MAX_TIMER_MS = 86_400_000;

  private final Vertx vertx;
  private final Identity identity;
  private final Runnable expired;
  private long timer = -1;
  private boolean stopped;

  TokenExpiry(Vertx vertx, Identity identity, Runnable expired) {
    this.vertx = vertx;
    this.identity = identity;
    this.expired = expired;
  }

  /** Arms the expiry, if the token has one. */
  void start() {
    if (identity.expires()) {
      check();
    }
  }

  /** Cancels the timer. Idempotent. */
  void stop() {
    stopped = true;
    vertx.cancelTimer(timer);
  }

  private void check() {
    timer = -1;
    if (stopped) {
      return;
    }
    long left = identity.validUntilMs() - System.currentTimeMillis();
    if (left <= 0) {
      stopped = true;
      expired.run();
      return;
    }
    timer = vertx.setTimer(Math.min(left, MAX_TIMER_MS), t -> check());
  }
}
