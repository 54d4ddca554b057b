package dev.chat.session;

/** A token bucket: {@code ratePerSec} tokens a second, at most {@code burst} saved up. */
final class TokenBucket {

  private final double ratePerMs;
  private final double burst;
  private double tokens;
  private long last;

  TokenBucket(int ratePerSec, int burst, long now) {
    this.ratePerMs = ratePerSec / 1000.0;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token; returns 0 when one was taken, else the milliseconds until one is available. */
  long take(long now) {
    tokens = Math.min(burst, tokens + (now - last) * ratePerMs);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - tokens) / ratePerMs);
  }
}
