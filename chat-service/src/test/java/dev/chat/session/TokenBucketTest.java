package dev.chat.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A token bucket")
class TokenBucketTest {

  @Test
  @DisplayName("allows a burst at once, then says how long until the next token")
  void burstThenWait() {
    TokenBucket b = new TokenBucket(10, 3, 1_000);

    assertThat(b.take(1_000)).isZero();
    assertThat(b.take(1_000)).isZero();
    assertThat(b.take(1_000)).isZero();
    assertThat(b.take(1_000)).isEqualTo(100);
    // Refills are fractional (in doubles), so a wait may come out a millisecond long.
    assertThat(b.take(1_040)).isBetween(60L, 61L);
    assertThat(b.take(1_100)).isZero();
    assertThat(b.take(1_100)).isBetween(100L, 101L);
  }

  @Test
  @DisplayName("has a token for a caller that waits as long as it was told")
  void retryAfterIsEnough() {
    for (int rate : new int[] {1, 3, 7, 10, 50, 333, 1000}) {
      TokenBucket b = new TokenBucket(rate, 1, 0);
      long now = 0;
      b.take(now);
      for (int i = 0; i < 200; i++) {
        long wait = b.take(now);
        assertThat(wait).as("rate %d", rate).isPositive();
        now += wait;
        assertThat(b.take(now)).as("rate %d after waiting %d ms", rate, wait).isZero();
      }
    }
  }

  @Test
  @DisplayName("refills at its rate, but never beyond its burst")
  void refillIsCapped() {
    TokenBucket b = new TokenBucket(1, 2, 0);
    b.take(0);
    b.take(0);

    // An hour idle saves up two tokens, not 3600.
    long later = 3_600_000;
    assertThat(b.take(later)).isZero();
    assertThat(b.take(later)).isZero();
    assertThat(b.take(later)).isEqualTo(1_000);
  }

  @Test
  @DisplayName("sustains exactly its rate")
  void sustainedRate() {
    TokenBucket b = new TokenBucket(50, 1, 0);
    int taken = 0;
    for (long t = 0; t < 10_000; t++) {
      if (b.take(t) == 0) {
        taken++;
      }
    }
    assertThat(taken).isEqualTo(500);
  }

  @Test
  @DisplayName("does not count a denied request against the caller")
  void denialIsFree() {
    TokenBucket b = new TokenBucket(10, 1, 0);
    b.take(0);
    for (int i = 0; i < 100; i++) {
      assertThat(b.take(50)).isEqualTo(50);
    }
    assertThat(b.take(100)).isZero();
  }
}
