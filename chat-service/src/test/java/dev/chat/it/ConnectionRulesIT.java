package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.awaitType;
import static dev.chat.it.LiveChecks.join;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.raw;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rules a node enforces per connection: handshake identity, frame kinds and sizes, limits. */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConnectionRulesIT {

  private static final int MAX_FRAME_BYTES = 4096;
  private static final int RATE_PER_SEC = 5;
  private static final int BURST = 5;

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("rules")
          .node(
              Map.of(
                  "CHAT_MAX_FRAME_BYTES", Integer.toString(MAX_FRAME_BYTES),
                  "CHAT_RATE_LIMIT_PER_SEC", Integer.toString(RATE_PER_SEC),
                  "CHAT_RATE_LIMIT_BURST", Integer.toString(BURST)))
          .node(Map.of("CHAT_MAX_CONNECTIONS", "2"))
          .build();

  /** Small frames, a low rate limit. */
  private ChatNode node;

  /** At most two connections. */
  private ChatNode small;

  @BeforeAll
  void start() {
    node = cluster.a();
    small = cluster.b();
  }

  @Test
  @DisplayName("a handshake without a user is refused with 400")
  void missingUser() {
    assertThat(WsClient.handshakeStatus(URI.create("ws://127.0.0.1:" + node.port() + "/ws")))
        .isEqualTo(400);
    assertThatThrownBy(() -> RawWebSocket.connect("127.0.0.1", node.port(), "/ws?room=x"))
        .isInstanceOfSatisfying(
            RawWebSocket.HandshakeRefused.class, e -> assertThat(e.status()).isEqualTo(400));
  }

  @ParameterizedTest(name = "user \"{0}\"")
  @ValueSource(strings = {"a b", "abcdefghijklmnopqrstuvwxyz0123456", "", "bob!", "a/b"})
  @DisplayName("a handshake with a malformed user is refused with 400")
  void malformedUser(String user) {
    assertThat(WsClient.handshakeStatus(node.wsUri(user))).isEqualTo(400);
  }

  @ParameterizedTest(name = "user \"{0}\"")
  @ValueSource(strings = {"Zoë", "李小龍", "abcdefghijklmnopqrstuvwxyz012345", "a_b-c.d"})
  @DisplayName("a handshake with a Unicode or 32-character user is accepted under that name")
  void unicodeUser(String user) {
    try (WsClient client = WsClient.connect(node.wsUri(user))) {
      assertThat(client.welcome().getString("type")).isEqualTo("welcome");
      assertThat(client.welcome().getString("user")).isEqualTo(user);
    }
  }

  @Test
  @DisplayName("a binary frame closes the connection with 1003")
  void binaryFrame() {
    try (RawWebSocket ws = raw(node.port(), user("bin"))) {
      awaitType(ws, "welcome");
      ws.sendBinary(new byte[] {1, 2, 3});
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1003);
    }
  }

  @Test
  @DisplayName("a text frame that is not valid UTF-8 closes the connection with 1007")
  void invalidUtf8() {
    try (RawWebSocket ws = raw(node.port(), user("utf"))) {
      awaitType(ws, "welcome");
      ws.sendInvalidUtf8();
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1007);
    }
  }

  @Test
  @DisplayName(
      "a fragmented message that is not valid UTF-8 once reassembled closes the connection with 1007")
  void invalidUtf8Fragmented() {
    try (RawWebSocket ws = raw(node.port(), user("utf"))) {
      awaitType(ws, "welcome");
      byte[] head = "{\"type\":\"ping\",\"x\":\"".getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ws.sendFrame(RawWebSocket.TEXT, false, head);
      // a lead byte, then a byte that cannot continue it, in the next fragment
      ws.sendFrame(RawWebSocket.CONTINUATION, false, new byte[] {(byte) 0xE2});
      ws.sendFrame(RawWebSocket.CONTINUATION, true, new byte[] {'(', '"', '}'});
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1007);
    }
  }

  @Test
  @DisplayName(
      "permessage-deflate is declined: an offer gets no Sec-WebSocket-Extensions, and frames stay uncompressed")
  void noCompression() {
    try (RawWebSocket ws =
        RawWebSocket.connect(
            "127.0.0.1",
            node.port(),
            "/ws?user=" + user("zip"),
            java.util.Map.of(
                "Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"))) {
      assertThat(ws.responseHeader("Sec-WebSocket-Extensions")).isNull();
      assertThat(awaitType(ws, "welcome")).isNotNull();
    }
  }

  @Test
  @DisplayName("a message over the size limit in one frame closes the connection with 1009")
  void oversizedFrame() {
    try (RawWebSocket ws = raw(node.port(), user("big"))) {
      awaitType(ws, "welcome");
      ws.sendText(send(room(), "big-1", "x".repeat(MAX_FRAME_BYTES)).encode());
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1009);
    }
  }

  @Test
  @DisplayName("a message over the size limit in small fragments closes the connection with 1009")
  void oversizedFragmentedMessage() {
    try (RawWebSocket ws = raw(node.port(), user("frag"))) {
      awaitType(ws, "welcome");
      ws.sendFragmented(send(room(), "big-2", "é".repeat(MAX_FRAME_BYTES)).encode(), 1000);
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1009);
    }
  }

  @Test
  @DisplayName("a message within the limit is accepted in fragments, even split inside a character")
  void fragmentedMessageWithinLimit() {
    String room = room();
    try (RawWebSocket ws = raw(node.port(), user("frag"))) {
      awaitType(ws, "welcome");
      ws.sendFragmented(join(room).encode(), 5);
      assertThat(awaitType(ws, "joined").getString("room")).isEqualTo(room);
      String text = "é€".repeat(MAX_FRAME_BYTES / 16);
      ws.sendFragmented(send(room, "ok-1", text).encode(), 7);
      JsonObject message = awaitType(ws, "message");
      assertThat(message.getString("text")).isEqualTo(text);
    }
  }

  @Test
  @DisplayName(
      "bad frames get errors and leave the connection open, but the 21st within 10 s closes it with 1008")
  void repeatedBadFrames() {
    try (RawWebSocket ws = raw(node.port(), user("bad"))) {
      awaitType(ws, "welcome");
      for (int i = 0; i < 20; i++) {
        ws.sendText("not json " + i);
      }
      for (int i = 0; i < 20; i++) {
        JsonObject error = awaitType(ws, "error");
        assertThat(error.getString("code")).isEqualTo("bad_request");
      }
      ws.sendText("{\"type\":\"ping\"}");
      assertThat(awaitType(ws, "pong")).as("still open after 20 bad frames").isNotNull();

      ws.sendText("{\"type\":\"no-such-type\"}");
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1008);
    }
  }

  @Test
  @DisplayName(
      "a node at its connection limit closes the next connection with 1013 and admits again once one leaves")
  void connectionLimit() {
    WsClient first = WsClient.connect(small.wsUri(user("c1")));
    WsClient second = WsClient.connect(small.wsUri(user("c2")));
    try {
      assertThat(first.welcome().getString("type")).isEqualTo("welcome");
      assertThat(second.welcome().getString("type")).isEqualTo("welcome");
      try (WsClient third = WsClient.connect(small.wsUri(user("c3")))) {
        assertThat(third.awaitClose(WAIT)).isEqualTo(1013);
      }

      first.close();
      List<Integer> refusals = new ArrayList<>();
      awaitTrue(
          "a connection is admitted after one closed",
          WAIT,
          () -> {
            try (WsClient again = WsClient.connect(small.wsUri(user("c4")))) {
              try {
                return again.welcome().getString("type").equals("welcome");
              } catch (AssertionError closedInstead) {
                refusals.add(again.awaitClose(WAIT));
                return false;
              }
            }
          });
      assertThat(refusals)
          .as("closes while the slot was still taken")
          .allSatisfy(c -> assertThat(c).isEqualTo(1013));
    } finally {
      first.close();
      second.close();
    }
  }

  @Test
  @DisplayName(
      "a burst over the rate limit gets rate_limited errors naming the send and a retry delay")
  void rateLimit() {
    String room = room();
    try (WsClient client = WsClient.connect(node.wsUri(user("fast")))) {
      joinRoom(client, room);
      Set<String> ids = new HashSet<>();
      long started = System.nanoTime();
      for (int i = 0; i < 20; i++) {
        String id = "burst-" + i;
        ids.add(id);
        client.send(send(room, id, "message " + i));
      }
      List<JsonObject> acks = new ArrayList<>();
      List<JsonObject> limited = new ArrayList<>();
      while (acks.size() + limited.size() < 20) {
        JsonObject answer =
            client.awaitMatching(
                f -> "ack".equals(f.getString("type")) || "error".equals(f.getString("type")),
                WAIT);
        (answer.getString("type").equals("ack") ? acks : limited).add(answer);
      }
      // the burst, plus what the bucket refilled while the 20 frames were being written
      long refilled =
          1 + Duration.ofNanos(System.nanoTime() - started).toMillis() * RATE_PER_SEC / 1000;
      assertThat(acks).hasSizeBetween(BURST, (int) (BURST + refilled));
      assertThat(limited).hasSize(20 - acks.size()).isNotEmpty();
      assertThat(limited)
          .allSatisfy(
              e -> {
                assertThat(e.getString("code")).isEqualTo("rate_limited");
                assertThat(e.getLong("retryAfterMs")).isBetween(1L, 1000L / RATE_PER_SEC);
                assertThat(ids).contains(e.getString("id"));
              });
      Set<String> answered = new HashSet<>();
      acks.forEach(a -> answered.add(a.getString("id")));
      limited.forEach(e -> answered.add(e.getString("id")));
      assertThat(answered).as("every send answered once").isEqualTo(ids);
    }
  }

  @Test
  @DisplayName("the health endpoints answer 200 and GET / serves the chat page with its script")
  void healthAndPage() {
    assertThat(node.httpStatus("/health/live")).isEqualTo(200);
    assertThat(node.httpStatus("/health/ready")).isEqualTo(200);
    LiveChecks.HttpAnswer page = LiveChecks.get(node.httpUri("/"));
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.body()).contains("<html").contains("<title>Chat</title>").contains("/app.js");
  }
}
