package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Redis Cluster hash slots")
class SlotsTest {

  @Test
  @DisplayName("the CRC is CRC16-XMODEM: 0x31C3 for \"123456789\", as Redis's cluster spec says")
  void crcCheckValue() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertThat(Slots.crc16(check, 0, check.length)).isEqualTo(0x31C3);
  }

  @Test
  @DisplayName("keys without a tag hash whole, to the slots CLUSTER KEYSLOT of Redis 7.0 gave")
  void plainKeys() {
    assertThat(Slots.slot("somekey")).isEqualTo(11058);
    assertThat(Slots.slot("foo")).isEqualTo(12182);
    assertThat(Slots.slot("bar")).isEqualTo(5061);
    assertThat(Slots.slot("p0")).isEqualTo(15882);
    assertThat(Slots.slot("")).isZero();
  }

  @Test
  @DisplayName("only the first non-empty {tag} counts, up to the first } after the first {")
  void tags() {
    assertThat(Slots.slot("foo{hash_tag}")).isEqualTo(2515);
    assertThat(Slots.slot("foo{bar}{zap}")).isEqualTo(Slots.slot("bar")).isEqualTo(5061);
    assertThat(Slots.slot("{user1000}.following")).isEqualTo(3443);
    assertThat(Slots.slot("{user1000}.followers")).isEqualTo(3443);
    assertThat(Slots.slot("foo{{bar}}zap")).as("tag is '{bar'").isEqualTo(4015);
    assertThat(Slots.slot("a}b{c}")).as("a } before the { does not close").isEqualTo(7365);
  }

  @Test
  @DisplayName("an empty tag or a { without } makes Redis hash the whole key")
  void wholeKeyFallbacks() {
    assertThat(Slots.slot("foo{}{bar}")).isEqualTo(8363);
    assertThat(Slots.slot("{}")).isEqualTo(15257);
    assertThat(Slots.slot("{a")).isEqualTo(10276);
  }

  @Test
  @DisplayName("every key of a room shares the room's slot")
  void roomKeysShareASlot() {
    String room = "général-" + 42;
    int slot = Slots.slot(RedisKeys.channel(room));
    assertThat(Slots.slot(RedisKeys.history(room))).isEqualTo(slot);
    assertThat(Slots.slot(RedisKeys.seq(room))).isEqualTo(slot);
    assertThat(Slots.slot(RedisKeys.presence(room, "node-1/0"))).isEqualTo(slot);
    assertThat(Slots.slot(room)).isEqualTo(slot);
  }

  @Test
  @DisplayName("tagFor gives, for every slot, a tag that hashes into that slot")
  void tagForEverySlot() {
    for (int s = 0; s < Slots.COUNT; s++) {
      String tag = Slots.tagFor(s);
      assertThat(Slots.slot("chat:probe:{" + tag + "}:x")).as("slot %d", s).isEqualTo(s);
      assertThat(tag).doesNotContain("{", "}");
    }
    assertThatThrownBy(() -> Slots.tagFor(Slots.COUNT))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
