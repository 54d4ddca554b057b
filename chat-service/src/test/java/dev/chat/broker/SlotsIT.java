package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RedisClusterExtension;
import dev.chat.testing.RespClient;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(120)
@DisplayName("Slots agrees with a real Redis Cluster")
class SlotsIT {

  @RegisterExtension static final RedisClusterExtension redis = new RedisClusterExtension();

  @Test
  @DisplayName("the keys and channel of 2,000 random rooms hash to the slot CLUSTER KEYSLOT gives")
  void roomKeysMatchKeyslot() {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      String room = randomRoom();
      keys.add(RedisKeys.channel(room));
      keys.add(RedisKeys.history(room));
      keys.add(RedisKeys.presence(room, "node-" + i + "/0"));
    }
    keys.add(RedisKeys.OWNERS);
    keys.add(RedisKeys.ownerRooms("node-1/0"));
    keys.add(RedisKeys.slots("user:ü"));
    try (RespClient c = redis.cluster().nodes().get(0).client()) {
      for (String key : keys) {
        assertThat(Slots.slot(key)).as(key).isEqualTo(keyslot(c, key));
      }
    }
  }

  @Test
  @DisplayName("braces in odd places hash as Redis hashes them")
  void oddBraces() {
    List<String> keys =
        List.of("{}", "{}{a}", "a{", "a}{", "{{}}", "x{y}}z", "}{", "{a}{b}", "é{ü}", "{" + "é");
    try (RespClient c = redis.cluster().nodes().get(0).client()) {
      for (String key : keys) {
        assertThat(Slots.slot(key)).as(key).isEqualTo(keyslot(c, key));
      }
    }
  }

  @Test
  @DisplayName("a channel named with tagFor(slot) lands in that slot, for slots on every shard")
  void tagsLandInTheirSlot() {
    try (RespClient c = redis.cluster().nodes().get(0).client()) {
      for (int slot = 0; slot < Slots.COUNT; slot += 97) {
        String channel = "chat:probe:{" + Slots.tagFor(slot) + "}:" + UUID.randomUUID();
        assertThat(keyslot(c, channel)).as(channel).isEqualTo(slot);
      }
    }
  }

  private static int keyslot(RespClient c, String key) {
    return Math.toIntExact((Long) c.call("CLUSTER", "KEYSLOT", key));
  }

  /** Names as clients may join them (Names.isRoom): rooms, and inboxes with non-ASCII users. */
  private static String randomRoom() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    boolean inbox = r.nextInt(4) == 0;
    String alphabet =
        inbox ? "abcdefghijklmnopqrstuvwxyzéüß中ж_.-0123456789" : "ABCXYZabcxyz0123456789_.-";
    StringBuilder b = new StringBuilder(inbox ? "@" : "");
    int length = 1 + r.nextInt(inbox ? 32 : 64);
    for (int i = 0; i < length; i++) {
      b.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    String name = b.toString();
    assertThat(dev.chat.protocol.Names.isRoom(name)).as(name).isTrue();
    return name;
  }
}
