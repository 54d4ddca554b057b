package dev.chat.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.config.Config;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The limits alone, on a clock the test moves: no loop, no socket. */
@DisplayName("A connection's inbound limits")
class InboundLimitsTest {

  private static InboundLimits limits(Map<String, String> env, long now) {
    return new InboundLimits(Config.from(env), now);
  }

  @Test
  @DisplayName("let a burst of frames through, stop the one past it, and refill at the rate")
  void frameBudget() {
    InboundLimits l =
        limits(Map.of("CHAT_FRAME_RATE_PER_SEC", "10", "CHAT_FRAME_BURST", "3"), 1_000);
    assertThat(l.frameOverBudget(1_000)).isFalse();
    assertThat(l.frameOverBudget(1_000)).isFalse();
    assertThat(l.frameOverBudget(1_000)).isFalse();
    assertThat(l.frameOverBudget(1_000)).isTrue();
    // 10 a second: one frame more after 100 ms, and not two.
    assertThat(l.frameOverBudget(1_100)).isFalse();
    assertThat(l.frameOverBudget(1_100)).isTrue();
  }

  @Test
  @DisplayName(
      "tell a sender past its burst how long to wait, and call it a flood past the strikes")
  void sendStrikes() {
    InboundLimits l =
        limits(
            Map.of(
                "CHAT_RATE_LIMIT_PER_SEC", "10",
                "CHAT_RATE_LIMIT_BURST", "1",
                "CHAT_RATE_LIMIT_STRIKES", "2"),
            0);
    assertThat(l.send(0)).isZero();
    assertThat(l.send(0)).isEqualTo(100);
    assertThat(l.send(50)).isEqualTo(50);
    assertThat(l.send(60)).isEqualTo(InboundLimits.FLOODING);
  }

  @Test
  @DisplayName("forget the strikes of a window 10 s old")
  void strikesWindow() {
    InboundLimits l =
        limits(
            Map.of(
                "CHAT_RATE_LIMIT_PER_SEC", "1",
                "CHAT_RATE_LIMIT_BURST", "1",
                "CHAT_RATE_LIMIT_STRIKES", "1"),
            0);
    assertThat(l.send(0)).isZero();
    assertThat(l.send(0)).isPositive();
    // A strike 10.001 s later starts a new window rather than being the second of the old one.
    assertThat(l.send(10_001)).isZero();
    assertThat(l.send(10_001)).isPositive();
    assertThat(l.send(10_002)).isEqualTo(InboundLimits.FLOODING);
  }

  @Test
  @DisplayName("allow 20 malformed frames in 10 s, not 21, and start over after the window")
  void badFrames() {
    InboundLimits l = limits(Map.of(), 0);
    for (int i = 0; i < 20; i++) {
      assertThat(l.badFrame(i)).as("bad frame %d", i + 1).isFalse();
    }
    assertThat(l.badFrame(20)).isTrue();

    InboundLimits later = limits(Map.of(), 0);
    for (int i = 0; i < 20; i++) {
      later.badFrame(0);
    }
    assertThat(later.badFrame(10_001)).isFalse();
  }
}
