package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class RawWebSocketTest {

  private static final Duration WAIT = Duration.ofSeconds(5);
  private static EchoWebSocketServer server;

  @BeforeAll
  static void startServer() {
    server = new EchoWebSocketServer();
  }

  @AfterAll
  static void stopServer() {
    server.close();
  }

  private static RawWebSocket connect(String user) {
    return RawWebSocket.connect("127.0.0.1", server.port(), "/ws?user=" + user);
  }

  @Test
  @DisplayName("the upgrade succeeds and text frames go both ways")
  void roundTrip() {
    try (RawWebSocket ws = connect("alice")) {
      RawWebSocket.Frame welcome = ws.readFrame(WAIT);
      assertThat(welcome.opcode()).isEqualTo(RawWebSocket.TEXT);
      assertThat(welcome.text()).contains("\"welcome\"");
      ws.sendText("plain text");
      assertThat(ws.readFrame(WAIT).text()).isEqualTo("plain text");
    }
  }

  @Test
  @DisplayName("long frames use extended lengths both ways")
  void extendedLengths() {
    try (RawWebSocket ws = connect("bob")) {
      ws.readFrame(WAIT);
      for (int size : new int[] {126, 65_535, 65_536}) {
        String text = "x".repeat(size);
        ws.sendText(text);
        assertThat(ws.readFrame(WAIT).payload()).hasSize(size);
      }
    }
  }

  @Test
  @DisplayName(
      "a fragmented message, split inside a multi-byte character, is reassembled by the server")
  void fragmentedSend() {
    try (RawWebSocket ws = connect("carol")) {
      ws.readFrame(WAIT);
      String text = "héllo wörld, ça va? " + "€".repeat(5);
      ws.sendFragmented(text, 3);
      RawWebSocket.Frame echo = ws.readFrame(WAIT);
      assertThat(echo.fin()).isTrue();
      assertThat(echo.text()).isEqualTo(text);
    }
  }

  @Test
  @DisplayName("awaitClose returns the server's close code and the server then ends the connection")
  void readsCloseCode() {
    try (RawWebSocket ws = connect("dave")) {
      ws.sendText("{\"type\":\"close\",\"code\":4001}");
      assertThat(ws.awaitClose(WAIT)).isEqualTo(4001);
      assertThat(ws.tcpClosed(WAIT)).isTrue();
    }
  }

  @Test
  @DisplayName("a binary frame reaches the server, which closes with 1003")
  void binaryFrame() {
    try (RawWebSocket ws = connect("erin")) {
      ws.sendBinary(new byte[] {1, 2, 3});
      assertThat(ws.awaitClose(WAIT)).isEqualTo(1003);
    }
  }

  @Test
  @DisplayName("pings are read as frames and never answered")
  void ignoresPings() throws InterruptedException {
    try (RawWebSocket ws = connect("frank")) {
      ws.readFrame(WAIT);
      int before = server.pongs.get();
      ws.sendText("{\"type\":\"ping\"}");
      RawWebSocket.Frame ping = ws.readFrame(WAIT);
      assertThat(ping.opcode()).isEqualTo(RawWebSocket.PING);
      assertThat(ping.text()).isEqualTo("are you there");
      Thread.sleep(200);
      assertThat(server.pongs.get()).isEqualTo(before);
      assertThat(ws.pollFrame(Duration.ofMillis(50))).isNull();
    }
  }

  @Test
  @DisplayName("awaitClose returns -1 when the connection ends without a close frame")
  void endsWithoutCloseFrame() {
    RawWebSocket ws = connect("grace");
    ws.close();
    assertThat(ws.awaitClose(WAIT)).isEqualTo(-1);
    assertThat(ws.tcpClosed(WAIT)).isTrue();
  }

  @Test
  @DisplayName("a refused upgrade reports its status")
  void refusedUpgrade() {
    assertThatThrownBy(() -> RawWebSocket.connect("127.0.0.1", server.port(), "/ws"))
        .isInstanceOfSatisfying(
            RawWebSocket.HandshakeRefused.class, e -> assertThat(e.status()).isEqualTo(401));
  }

  @Test
  @DisplayName("invalid UTF-8 goes out as a text frame with the bytes as sent")
  void invalidUtf8() {
    try (RawWebSocket ws = connect("heidi")) {
      ws.readFrame(WAIT);
      ws.sendInvalidUtf8();
      // Vert.x 5.0.10 does not reject it: it decodes 0xC3 0x28 lossily, to U+FFFD then '('
      assertThat(ws.readFrame(WAIT).text()).isEqualTo("\uFFFD(");
    }
  }

  @Test
  @DisplayName(
      "a paused reader takes at most the frame it was reading; resumed, it gets every frame that piled up, in order")
  void pauseAndResume() {
    try (RawWebSocket ws =
        RawWebSocket.connect(
            "127.0.0.1", server.port(), "/ws?user=erin", java.util.Map.of(), 4096)) {
      ws.readFrame(WAIT);
      ws.pauseReading();
      for (int i = 0; i < 50; i++) {
        ws.sendText("m" + i + " " + "x".repeat(1000));
      }
      // the reader may have been blocked reading when paused: it finishes that one frame, then
      // stops
      java.util.List<String> got = new java.util.ArrayList<>();
      for (RawWebSocket.Frame f; (f = ws.pollFrame(Duration.ofMillis(300))) != null; ) {
        got.add(f.text());
      }
      assertThat(got).as("frames read while paused").hasSizeLessThanOrEqualTo(1);

      ws.resumeReading();
      while (got.size() < 50) {
        got.add(ws.readFrame(WAIT).text());
      }
      for (int i = 0; i < 50; i++) {
        assertThat(got.get(i)).startsWith("m" + i + " ");
      }
    }
  }

  @Test
  @DisplayName(
      "a handshake with extra request headers succeeds, and the server's answer headers can be read")
  void headers() {
    try (RawWebSocket ws =
        RawWebSocket.connect(
            "127.0.0.1",
            server.port(),
            "/ws?user=fay",
            java.util.Map.of("Origin", "https://example.com"))) {
      assertThat(ws.responseHeader("upgrade")).isEqualToIgnoringCase("websocket");
      assertThat(ws.responseHeader("Sec-WebSocket-Accept")).isNotBlank();
      assertThat(ws.responseHeader("X-No-Such-Header")).isNull();
    }
  }
}
