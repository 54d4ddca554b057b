package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Names")
class NamesTest {

  // U+1D49C MATHEMATICAL SCRIPT CAPITAL A: a letter outside the BMP, two chars in Java.
  static final String SCRIPT_A = "\uD835\uDC9C";

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "alice",
        "Bob_1",
        "a.b-c",
        "_",
        "\u00e9mile",
        "\u674e\u96f7",
        "\u03a9mega",
        "\u0663\u0664",
        "x",
        "abcdefghijklmnopqrstuvwxyz012345",
        SCRIPT_A
      })
  @DisplayName("accept user ids of Unicode letters, digits, _ - and .")
  void acceptsUserIds(String id) {
    assertThat(Names.isUserId(id)).isTrue();
    assertThat(Names.isInbox("@" + id)).isTrue();
    assertThat(Names.isRoom("@" + id)).isTrue();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "a b",
        "a@b",
        "@alice",
        "a/b",
        "a+b",
        "a\u0000",
        "a\tb",
        "\uD83D\uDE00",
        "\uD800",
        "a\uDC9C",
        "abcdefghijklmnopqrstuvwxyz0123456",
        "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",
        "ali\u200bce"
      })
  @DisplayName("reject anything else as a user id, including more than 32 code points")
  void rejectsUserIds(String id) {
    assertThat(Names.isUserId(id)).isFalse();
    if (id != null) {
      assertThat(Names.isInbox("@" + id)).isFalse();
    }
  }

  @Test
  @DisplayName("count user id length in code points, not chars")
  void countsCodePoints() {
    assertThat(Names.isUserId(SCRIPT_A.repeat(32))).isTrue();
    assertThat(Names.isUserId(SCRIPT_A.repeat(33))).isFalse();
    assertThat(Names.isUserId("a".repeat(32))).isTrue();
    assertThat(Names.isInbox("@" + SCRIPT_A.repeat(32))).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "general",
        "a",
        "A-Z_0.9",
        "...",
        "-",
        "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
      })
  @DisplayName("accept room names of 1-64 ASCII letters, digits, _ . and -")
  void acceptsRoomNames(String name) {
    assertThat(Names.isRoomName(name)).isTrue();
    assertThat(Names.isRoom(name)).isTrue();
    assertThat(Names.isInbox(name)).isFalse();
    assertThat(Names.inboxOwner(name)).isNull();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "gen eral",
        "g\u00e9n\u00e9ral",
        "@alice",
        "a/b",
        "#x",
        "\u674e",
        "room!",
        "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"
      })
  @DisplayName("reject anything else as a room name, including 65 characters")
  void rejectsRoomNames(String name) {
    assertThat(Names.isRoomName(name)).isFalse();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @NullAndEmptySource
  @ValueSource(strings = {"@", "@@alice", "alice", "@bad user", "@a/b", " @alice", "@\uD83D\uDE00"})
  @DisplayName("reject inboxes whose owner is not a valid user id")
  void rejectsInboxes(String name) {
    assertThat(Names.isInbox(name)).isFalse();
    assertThat(Names.inboxOwner(name)).isNull();
  }

  @Test
  @DisplayName("map a user to their inbox and back")
  void mapsInboxes() {
    assertThat(Names.inboxOf("alice")).isEqualTo("@alice");
    assertThat(Names.inboxOwner("@alice")).isEqualTo("alice");
    assertThat(Names.inboxOwner(Names.inboxOf("\u00e9mile"))).isEqualTo("\u00e9mile");
    assertThat(Names.isRoom("@" + "a".repeat(33))).isFalse();
  }
}
