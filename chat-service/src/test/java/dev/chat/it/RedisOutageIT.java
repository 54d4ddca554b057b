package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Redis dies under two nodes with connected clients, and comes back empty: the nodes report it,
 * refuse sends with a retryable error, and afterwards move the same connections to the new epoch.
 */
@Timeout(60)
class RedisOutageIT {

  private static final Duration OUTAGE_NOTICED = Duration.ofSeconds(10);
  private static final Duration RECOVERED = Duration.ofSeconds(20);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("outage").env(ChatCluster.outageTimers(3_000)).nodes(2).build();

  @Test
  @DisplayName(
      "while Redis is down both nodes are not ready and refuse sends as unavailable; when it is back the same connections start over in a new epoch and messages flow across nodes again")
  void redisKilledAndRestarted() {
    ChatNode a = cluster.a();
    ChatNode b = cluster.b();
    String room = room();
    try (WsClient alice = WsClient.connect(a.wsUri(user("alice")));
        WsClient bob = WsClient.connect(b.wsUri(user("bob")))) {
      String oldEpoch = joinRoom(alice, room).getString("epoch");
      assertThat(joinRoom(bob, room).getString("epoch")).isEqualTo(oldEpoch);
      alice.send(send(room, "before", "before the outage"));
      assertThat(ack(alice, "before").getLong("seq")).isEqualTo(1);
      assertThat(message(bob, "before").getLong("seq")).isEqualTo(1);

      cluster.redis().kill();
      awaitTrue("node a not ready", OUTAGE_NOTICED, () -> a.httpStatus("/health/ready") == 503);
      awaitTrue("node b not ready", OUTAGE_NOTICED, () -> b.httpStatus("/health/ready") == 503);
      assertThat(a.httpStatus("/health/live")).isEqualTo(200);

      alice.send(send(room, "during-a", "while Redis is down"));
      bob.send(send(room, "during-b", "while Redis is down"));
      assertUnavailable(answerTo(alice, "during-a"));
      assertUnavailable(answerTo(bob, "during-b"));
      assertThat(alice.isClosed()).isFalse();
      assertThat(bob.isClosed()).isFalse();

      cluster.redis().restart();
      awaitTrue("node a ready again", RECOVERED, () -> a.httpStatus("/health/ready") == 200);
      awaitTrue("node b ready again", RECOVERED, () -> b.httpStatus("/health/ready") == 200);

      List<JsonObject> aliceSkipped = new ArrayList<>();
      List<JsonObject> bobSkipped = new ArrayList<>();
      JsonObject aliceRejoined = unsolicitedJoined(alice, room, aliceSkipped);
      JsonObject bobRejoined = unsolicitedJoined(bob, room, bobSkipped);
      String newEpoch = aliceRejoined.getString("epoch");
      assertThat(newEpoch).isNotEqualTo(oldEpoch);
      assertThat(aliceRejoined.getBoolean("recovered")).isFalse();
      assertThat(aliceRejoined.getLong("seq")).isZero();
      assertThat(bobRejoined.getString("epoch")).isEqualTo(newEpoch);
      assertThat(bobRejoined.getBoolean("recovered")).isFalse();

      // the live stream works again, both ways, across the two nodes
      alice.send(send(room, "after-a", "Redis is back"));
      assertThat(ack(alice, "after-a", aliceSkipped).getLong("seq")).isEqualTo(1);
      JsonObject atBob = message(bob, "after-a", bobSkipped);
      assertThat(atBob.getLong("seq")).isEqualTo(1);
      assertThat(atBob.getString("text")).isEqualTo("Redis is back");
      bob.send(send(room, "after-b", "hello again"));
      assertThat(ack(bob, "after-b", bobSkipped).getLong("seq")).isEqualTo(2);
      assertThat(message(alice, "after-b", aliceSkipped).getLong("seq")).isEqualTo(2);

      // the connected users were registered again in the new, empty Redis
      try (WsClient carol = WsClient.connect(b.wsUri(user("carol")))) {
        JsonObject joined = joinRoom(carol, room);
        assertThat(joined.getString("epoch")).isEqualTo(newEpoch);
        assertThat(joined.getInteger("online")).isEqualTo(3);
        assertThat(joined.getJsonArray("users").getList())
            .contains(alice.welcome().getString("user"), bob.welcome().getString("user"));
      }

      for (List<JsonObject> skipped : List.of(aliceSkipped, bobSkipped)) {
        assertThat(skipped)
            .as("no ack, and nothing of the old epoch, after the failed sends")
            .noneMatch(f -> "ack".equals(f.getString("type")))
            .noneMatch(
                f ->
                    "message".equals(f.getString("type"))
                        && f.getString("id").startsWith("during"));
      }
    }
  }

  private static void assertUnavailable(JsonObject answer) {
    assertThat(answer.getString("type"))
        .as("answer to a send during the outage")
        .isEqualTo("error");
    assertThat(answer.getString("code")).isEqualTo("unavailable");
    assertThat(answer.getBoolean("retryable")).isTrue();
  }

  private static JsonObject answerTo(WsClient client, String id) {
    return client.awaitMatching(
        f ->
            ("ack".equals(f.getString("type")) || "error".equals(f.getString("type")))
                && id.equals(f.getString("id")),
        WAIT);
  }

  private static JsonObject ack(WsClient client, String id) {
    return ack(client, id, new ArrayList<>());
  }

  private static JsonObject ack(WsClient client, String id, List<JsonObject> skipped) {
    return awaitRecording(
        client, skipped, f -> "ack".equals(f.getString("type")) && id.equals(f.getString("id")));
  }

  private static JsonObject message(WsClient client, String id) {
    return message(client, id, new ArrayList<>());
  }

  private static JsonObject message(WsClient client, String id, List<JsonObject> skipped) {
    return awaitRecording(
        client,
        skipped,
        f -> "message".equals(f.getString("type")) && id.equals(f.getString("id")));
  }

  private static JsonObject unsolicitedJoined(
      WsClient client, String room, List<JsonObject> skipped) {
    return awaitRecording(
        client,
        skipped,
        f -> "joined".equals(f.getString("type")) && room.equals(f.getString("room")),
        RECOVERED);
  }

  private static JsonObject awaitRecording(
      WsClient client, List<JsonObject> skipped, Predicate<JsonObject> wanted) {
    return awaitRecording(client, skipped, wanted, WAIT);
  }

  /** Like {@link WsClient#awaitMatching}, keeping the frames it passes over for later checks. */
  private static JsonObject awaitRecording(
      WsClient client, List<JsonObject> skipped, Predicate<JsonObject> wanted, Duration timeout) {
    return client.awaitMatching(
        f -> {
          if (wanted.test(f)) {
            return true;
          }
          skipped.add(f);
          return false;
        },
        timeout);
  }
}
