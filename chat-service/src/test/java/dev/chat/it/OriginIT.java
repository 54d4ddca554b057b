package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.WsClient;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** CHAT_ALLOWED_ORIGINS on a real node: the WebSocket handshake's Origin decides 101 or 403. */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("A node with allowed origins")
class OriginIT {

  private ChatNode node;
  private ChatNode open;

  @BeforeAll
  void start() {
    node =
        ChatNode.builder()
            .name("origins")
            .env("CHAT_ALLOWED_ORIGINS", "https://chat.example.com, http://localhost:8080")
            .env("CHAT_INSTANCES", "1")
            .start();
    open = ChatNode.builder().name("origins-any").env("CHAT_INSTANCES", "1").start();
  }

  @AfterAll
  void stop() {
    for (ChatNode n : new ChatNode[] {node, open}) {
      if (n != null) {
        n.close();
      }
    }
  }

  private int status(ChatNode n, String origin) {
    return WsClient.handshakeStatus(n.wsUri(LiveChecks.user("o")), Map.of("Origin", origin));
  }

  @ParameterizedTest(name = "Origin: {0}")
  @ValueSource(
      strings = {
        "https://chat.example.com",
        "https://chat.example.com:443",
        "http://localhost:8080"
      })
  @DisplayName("upgrades a handshake from a listed origin")
  void allowed(String origin) {
    assertThat(status(node, origin)).isEqualTo(101);
  }

  @ParameterizedTest(name = "Origin: {0}")
  @ValueSource(
      strings = {
        "null",
        "https://chat.example.com.evil.com",
        "https://evilchat.example.com",
        "http://chat.example.com",
        "https://chat.example.com:8443",
        "http://localhost:8081",
        "http://127.0.0.1:8080"
      })
  @DisplayName(
      "refuses a handshake from any other origin with 403: null, look-alike hosts, another scheme or port")
  void refused(String origin) {
    assertThat(status(node, origin)).isEqualTo(403);
  }

  @Test
  @DisplayName("upgrades a handshake without an Origin header (a non-browser client)")
  void missingOrigin() {
    try (RawWebSocket ws =
        RawWebSocket.connect("127.0.0.1", node.port(), "/ws?user=" + LiveChecks.user("cli"))) {
      assertThat(LiveChecks.awaitType(ws, "welcome")).isNotNull();
    }
  }

  @Test
  @DisplayName("without CHAT_ALLOWED_ORIGINS, upgrades a handshake from any origin")
  void unset() {
    assertThat(status(open, "https://anything.example")).isEqualTo(101);
    assertThat(status(open, "null")).isEqualTo(101);
  }
}
