package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.RedisCluster;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Two chat nodes in CHAT_REDIS_MODE=cluster on a real 3+3 Redis Cluster. */
@Timeout(180)
@DisplayName("Two nodes in Redis Cluster mode")
class ClusterModeIT {

  @Test
  @DisplayName(
      "chat in many rooms spread over every shard: each message reaches the other node once, in order, and both nodes are ready")
  void manyRoomsOverAllShards() {
    try (RedisCluster redis = RedisCluster.start();
        ChatNode a = node("a", redis);
        ChatNode b = node("b", redis)) {
      assertThat(a.httpStatus("/health/ready")).isEqualTo(200);
      assertThat(b.httpStatus("/health/ready")).isEqualTo(200);
      ChatPeer alice = ChatPeer.connect(a, "alice", true);
      ChatPeer bob = ChatPeer.connect(b, "bob", true);
      List<String> rooms = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        String room = "r" + i + "-" + UUID.randomUUID().toString().substring(0, 6);
        rooms.add(room);
        alice.join(room);
        bob.join(room);
      }
      for (String room : rooms) {
        for (int i = 1; i <= 3; i++) {
          JsonObject ack = alice.say(room, room + "-" + i, "hello " + i);
          assertThat(ack.getLong("seq")).isEqualTo((long) i);
        }
      }
      for (String room : rooms) {
        List<JsonObject> got = bob.awaitMessages(room, 3, Duration.ofSeconds(20));
        assertThat(got).extracting(m -> m.getLong("seq")).containsExactly(1L, 2L, 3L);
      }
    }
  }

  private static ChatNode node(String name, RedisCluster redis) {
    return ChatNode.builder()
        .name(name)
        .env("CHAT_REDIS_MODE", "cluster")
        .env("CHAT_REDIS_URL", String.join(",", redis.seedUris()))
        .readyTimeout(Duration.ofSeconds(60))
        .start();
  }
}
