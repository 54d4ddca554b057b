package dev.chat.it;

import static dev.chat.it.LiveChecks.awaitPresence;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A node loses Redis for a moment while Redis keeps its data, and a user of that node leaves during
 * it: the leave that failed must still reach the others once the node is back, long before the
 * node's lease could matter (the node stays alive, so its lease never runs out).
 */
@Timeout(90)
class FailedLeaveRetryIT {

  private static final long LEASE_MS = 30_000;
  private static final Duration NOTICED = Duration.ofSeconds(10);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("retry")
          // the connection names let the test cut one node alone off Redis
          .namedConnections()
          .env("CHAT_INSTANCES", "1")
          .env(ChatCluster.outageTimers(LEASE_MS))
          .nodes(2)
          .build();

  @Test
  @DisplayName(
      "a leave that failed while its node could not reach Redis is announced once the node is back, well before the lease would end")
  void failedLeaveIsRetried() {
    String room = room();
    String alice = user("alice");
    String bob = user("bob");
    ChatNode a = cluster.a();
    ChatNode b = cluster.b();
    try (RespClient admin = cluster.redis().client();
        WsClient aliceClient = WsClient.connect(a.wsUri(alice))) {
      WsClient bobClient = WsClient.connect(b.wsUri(bob));
      joinRoom(aliceClient, room);
      joinRoom(bobClient, room);
      awaitPresence(aliceClient, room, "join", bob);

      // Node b alone is cut off: its connections are killed and, with no client slot left, every
      // reconnect is refused ("max number of clients reached"). Redis keeps its data and node a
      // keeps its connections, so node a hears whatever node b publishes later.
      admin.call("CONFIG", "SET", "maxclients", "1");
      try {
        killConnectionsOf(admin, b.name());
        awaitTrue("node b not ready", NOTICED, () -> b.httpStatus("/health/ready") == 503);

        bobClient.close();
        awaitTrue(
            "node b saw bob's socket close",
            NOTICED,
            () -> b.httpStatus("/metrics") == 200 && openSockets(b) == 0);
        assertThat(admin.call("HEXISTS", "chat:{" + room + "}:users", bob))
            .as("bob's leave could not reach Redis")
            .isEqualTo(1L);
      } finally {
        admin.call("CONFIG", "SET", "maxclients", "10000");
      }
      long back = System.nanoTime();

      JsonObject left = awaitPresence(aliceClient, room, "leave", bob, NOTICED);
      assertThat(left.getInteger("online")).isEqualTo(1);
      assertThat(Duration.ofNanos(System.nanoTime() - back))
          .as("announced after the node was back, not when a lease ran out")
          .isLessThan(Duration.ofMillis(LEASE_MS / 2));
      assertThat(admin.call("HEXISTS", "chat:{" + room + "}:users", bob)).isEqualTo(0L);
    }
  }

  /** Kills every Redis connection named {@code name} (commands and subscriber). */
  private static void killConnectionsOf(RespClient admin, String name) {
    List<String> ids = new ArrayList<>();
    for (String line : ((String) admin.call("CLIENT", "LIST")).split("\n")) {
      if (line.contains(" name=" + name + " ")) {
        ids.add(line.substring(line.indexOf("id=") + 3, line.indexOf(' ')));
      }
    }
    assertThat(ids).as("node " + name + "'s connections").hasSizeGreaterThanOrEqualTo(2);
    for (String id : ids) {
      admin.call("CLIENT", "KILL", "ID", id);
    }
  }

  private static int openSockets(ChatNode node) {
    String body = LiveChecks.get(node.httpUri("/metrics")).body();
    for (String line : body.split("\n")) {
      if (line.startsWith("chat_sockets_open ") || line.startsWith("chat_sockets_open{")) {
        return (int) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no chat_sockets_open gauge in /metrics");
  }
}
