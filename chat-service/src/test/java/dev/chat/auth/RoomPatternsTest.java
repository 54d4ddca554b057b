package dev.chat.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("Room patterns from a token's rooms claim")
class RoomPatternsTest {

  @ParameterizedTest(name = "\"{0}\" matches \"{1}\": {2}")
  @CsvSource({
    "general, general, true",
    "general, general2, false",
    "general, genera, false",
    "support-*, support-42, true",
    "support-*, support-, true",
    "support-*, support, false",
    "support-*, my-support-1, false",
    "*-team, red-team, true",
    "*-team, red-team-b, false",
    "*, anything.at-all, true",
    "a*b*c, aXXbYYc, true",
    "a*b*c, aXXcYYb, false",
    "a*a*a*a*b, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, false",
    "room-?, room-1, true",
    "room-?, room-12, false",
    "room.1, room-1, false",
    "@*, @alice, true",
    "Team, team, false",
  })
  @DisplayName("* matches any run, ? one character, everything else itself, case-sensitively")
  void globs(String pattern, String room, boolean expected) {
    assertThat(RoomPatterns.of(List.of(pattern)).allows(room)).isEqualTo(expected);
  }

  @Test
  @DisplayName(
      "a room is allowed when any pattern matches; an empty list allows none; no claim allows all")
  void lists() {
    RoomPatterns two = RoomPatterns.of(List.of("general", "support-*"));
    assertThat(two.allows("general")).isTrue();
    assertThat(two.allows("support-7")).isTrue();
    assertThat(two.allows("random")).isFalse();
    assertThat(RoomPatterns.of(List.of()).allows("general")).isFalse();
    assertThat(RoomPatterns.ANY.allows("anything")).isTrue();
    assertThat(RoomPatterns.ANY.allows("random")).isTrue();
  }

  @Test
  @DisplayName("refuses empty, overlong and too many patterns")
  void limits() {
    assertThatThrownBy(() -> RoomPatterns.of(List.of("")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> RoomPatterns.of(List.of("x".repeat(RoomPatterns.MAX_PATTERN_LENGTH + 1))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> RoomPatterns.of(Collections.nCopies(RoomPatterns.MAX_PATTERNS + 1, "a")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
