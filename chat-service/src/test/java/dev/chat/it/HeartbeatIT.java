package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.assertHoldsFor;
import static dev.chat.it.LiveChecks.awaitType;
import static dev.chat.it.LiveChecks.raw;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The server's heartbeat: pings every interval, closes a silent connection with 4000. */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HeartbeatIT {

  private static final long INTERVAL_MS = 200;
  private static final long TIMEOUT_MS = 1000;

  /**
   * Several heartbeat timeouts: long enough that a connection kept only by luck would be closed.
   */
  private static final Duration SEVERAL_TIMEOUTS = Duration.ofMillis(4 * TIMEOUT_MS);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("heartbeat")
          .env("CHAT_HEARTBEAT_INTERVAL_MS", Long.toString(INTERVAL_MS))
          .env("CHAT_HEARTBEAT_TIMEOUT_MS", Long.toString(TIMEOUT_MS))
          .nodes(1)
          .build();

  private ChatNode node;

  @BeforeAll
  void start() {
    node = cluster.a();
  }

  @Test
  @DisplayName(
      "a client that never answers pings and sends nothing is pinged, then closed with 4000 after the timeout")
  void silentClientIsClosed() {
    try (RawWebSocket ws = raw(node.port(), user("mute"))) {
      long opened = System.nanoTime();
      JsonObject welcome = awaitType(ws, "welcome");
      assertThat(welcome.getJsonObject("heartbeat").getLong("intervalMs")).isEqualTo(INTERVAL_MS);
      assertThat(welcome.getJsonObject("heartbeat").getLong("timeoutMs")).isEqualTo(TIMEOUT_MS);

      List<RawWebSocket.Frame> frames = new ArrayList<>();
      RawWebSocket.Frame frame;
      do {
        frame = ws.readFrame(WAIT);
        frames.add(frame);
      } while (frame.opcode() != RawWebSocket.CLOSE);
      long closedAfterMs = Duration.ofNanos(System.nanoTime() - opened).toMillis();

      assertThat(frame.closeCode()).isEqualTo(4000);
      assertThat(frames.stream().filter(f -> f.opcode() == RawWebSocket.PING).count())
          .as("pings before the close, one per %d ms", INTERVAL_MS)
          .isGreaterThanOrEqualTo(2);
      assertThat(closedAfterMs)
          .as("ms until the close")
          .isBetween(TIMEOUT_MS - 50, TIMEOUT_MS + 1500);
    }
  }

  @Test
  @DisplayName(
      "a client that only sends app-level pings stays open over several timeouts, each answered by a pong")
  void appPingsKeepTheConnectionOpen() {
    try (RawWebSocket ws = raw(node.port(), user("pinger"))) {
      awaitType(ws, "welcome");
      int pongs = 0;
      long end = System.nanoTime() + SEVERAL_TIMEOUTS.toNanos();
      while (System.nanoTime() < end) {
        ws.sendText("{\"type\":\"ping\"}");
        awaitType(ws, "pong");
        pongs++;
        LiveChecks.pause(Duration.ofMillis(TIMEOUT_MS / 3));
      }
      assertThat(pongs).isGreaterThanOrEqualTo(6);
      assertThat(ws.tcpClosed(Duration.ZERO)).as("connection closed").isFalse();
      ws.sendText("{\"type\":\"ping\"}");
      assertThat(awaitType(ws, "pong")).isNotNull();
    }
  }

  @Test
  @DisplayName("a client that answers the server's pings but sends nothing else stays open")
  void pongsKeepTheConnectionOpen() {
    try (WsClient client = WsClient.connect(node.wsUri(user("quiet")))) {
      assertThat(client.welcome().getString("type")).isEqualTo("welcome");
      assertHoldsFor("the connection is open", SEVERAL_TIMEOUTS, () -> !client.isClosed());
      client.send(new JsonObject().put("type", "ping"));
      assertThat(client.await("pong", WAIT)).isNotNull();
    }
  }
}
