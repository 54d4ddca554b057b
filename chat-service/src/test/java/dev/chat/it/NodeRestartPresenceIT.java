package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisServer;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A node that dies and comes back under the same CHAT_NODE_ID (a restarted container or pod). */
@Timeout(60)
class NodeRestartPresenceIT {

  private static final String LEASE_MS = "20000";

  private static ChatNode node(RedisServer redis, String name) {
    return ChatNode.builder()
        .name(name)
        .env("CHAT_REDIS_URL", redis.uri())
        .env("CHAT_INSTANCES", "1")
        .env("CHAT_NODE_LEASE_MS", LEASE_MS)
        .start();
  }

  @Test
  @DisplayName(
      "a node restarted under the same id before its lease ran out announces the users of its"
          + " previous life as gone, instead of keeping them online forever")
  void restartedNodeClearsItsPredecessorsPresence() {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    String room = "r-" + suffix;
    String bob = "bob" + suffix;
    try (RedisServer redis = RedisServer.start();
        ChatNode stable = node(redis, "stable-" + suffix)) {
      ChatNode restarting = node(redis, "restarting-" + suffix);
      try (WsClient carol = WsClient.connect(stable.wsUri("carol" + suffix));
          WsClient bobClient = WsClient.connect(restarting.wsUri(bob))) {
        carol.welcome();
        bobClient.welcome();
        carol.send(new JsonObject().put("type", "join").put("room", room));
        carol.await("joined", Duration.ofSeconds(10));
        bobClient.send(new JsonObject().put("type", "join").put("room", room));
        bobClient.await("joined", Duration.ofSeconds(10));
        carol.awaitMatching(
            f -> "presence".equals(f.getString("type")) && "join".equals(f.getString("event")),
            Duration.ofSeconds(10));

        restarting.kill();
        long killedAt = System.nanoTime();
        try (ChatNode again = node(redis, restarting.name())) {
          // Well before the 20 s lease could run out: only the restarted node can have said it.
          JsonObject left =
              carol.awaitMatching(
                  f ->
                      "presence".equals(f.getString("type"))
                          && "leave".equals(f.getString("event")),
                  Duration.ofSeconds(15));
          assertThat(left.getString("user")).isEqualTo(bob);
          assertThat(left.getInteger("online")).isEqualTo(1);
          assertThat(Duration.ofNanos(System.nanoTime() - killedAt))
              .isLessThan(Duration.ofMillis(Long.parseLong(LEASE_MS)));
        }
      } finally {
        restarting.close();
      }
    }
  }
}
