package dev.chat.broker;

import io.vertx.core.Vertx;

/**
 * Schedules reconnect attempts with exponential backoff (50 ms doubling to 2 s); at most one is
 * pending.
 */
final class Backoff {

  private static final long FIRST_MS = 50;
  private static final long MAX_MS = 2_000;

  private final Vertx vertx;
  private long delayMs = FIRST_MS;
  private long timer = -1;

  Backoff(Vertx vertx) {
    this.vertx = vertx;
  }

  /**
   * Runs {@code attempt} after the current delay, replacing any pending attempt, and doubles the
   * delay.
   */
  long schedule(Runnable attempt) {
    vertx.cancelTimer(timer);
    long delay = delayMs;
    timer = vertx.setTimer(delay, t -> attempt.run());
    delayMs = Math.min(MAX_MS, delayMs * 2);
    return delay;
  }

  /** A connection succeeded: the next loss retries quickly again. */
  void reset() {
    delayMs = FIRST_MS;
  }

  void cancel() {
    vertx.cancelTimer(timer);
  }
}
