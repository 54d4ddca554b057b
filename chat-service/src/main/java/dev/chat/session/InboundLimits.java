package dev.chat.session;

import dev.chat.config.Config;

/**
 * What one connection may send: a budget of frames of any kind, a rate of stored messages with a
 * count of the times the client kept sending while told to wait, and an allowance of malformed
 * frames. It decides; the session answers and closes. Times are the session's monotonic
 * milliseconds.
 */
final class InboundLimits {

  /** {@link #send} when the client kept sending after too many {@code rate_limited} answers. */
  static final long FLOODING = -1;

  private static final int BAD_FRAMES_ALLOWED = 20;
  private static final long BAD_FRAMES_WINDOW_MS = 10_000;
  private static final long STRIKES_WINDOW_MS = 10_000;

  private final TokenBucket frames;
  private final TokenBucket sends;
  private final int strikesAllowed;
  private int strikes;
  private long strikesSince;
  private int badFrames;
  private long badFramesSince;

  InboundLimits(Config config, long now) {
    this.frames = new TokenBucket(config.frameRatePerSec(), config.frameBurst(), now);
    this.sends = new TokenBucket(config.rateLimitPerSec(), config.rateLimitBurst(), now);
    this.strikesAllowed = config.rateLimitStrikes();
    this.strikesSince = now;
    this.badFramesSince = now;
  }

  /** Takes one inbound frame from the budget; true when the client has spent it (a flood). */
  boolean frameOverBudget(long now) {
    return frames.take(now) > 0;
  }

  /**
   * Takes one message from the send rate: 0 when it may be stored, else the milliseconds to wait
   * before retrying, or {@link #FLOODING} once it has been told to wait more than {@code
   * CHAT_RATE_LIMIT_STRIKES} times within 10 s.
   */
  long send(long now) {
    long wait = sends.take(now);
    if (wait == 0) {
      return 0;
    }
    if (now - strikesSince > STRIKES_WINDOW_MS) {
      strikesSince = now;
      strikes = 0;
    }
    return ++strikes > strikesAllowed ? FLOODING : wait;
  }

  /** Counts a malformed frame; true when there were more than 20 within 10 s. */
  boolean badFrame(long now) {
    if (now - badFramesSince > BAD_FRAMES_WINDOW_MS) {
      badFramesSince = now;
      badFrames = 0;
    }
    return ++badFrames > BAD_FRAMES_ALLOWED;
  }
}
