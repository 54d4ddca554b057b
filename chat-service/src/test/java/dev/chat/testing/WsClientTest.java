package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class WsClientTest {

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

  private static URI uri(String query) {
    return URI.create("ws://127.0.0.1:" + server.port() + "/ws" + query);
  }

  @Test
  @DisplayName("the first frame is the welcome and later frames come back in order")
  void welcomeThenEcho() {
    try (WsClient client = WsClient.connect(uri("?user=alice"))) {
      assertThat(client.welcome().getString("user")).isEqualTo("alice");
      client.send(new JsonObject().put("type", "hello").put("n", 1));
      client.sendText("{\"type\":\"hello\",\"n\":2}");
      assertThat(client.next(WAIT).getInteger("n")).isEqualTo(1);
      assertThat(client.next(WAIT).getInteger("n")).isEqualTo(2);
      assertThat(client.welcome().getString("type")).as("cached").isEqualTo("welcome");
    }
  }

  @Test
  @DisplayName("await skips frames of other types and drain collects what is left")
  void awaitAndDrain() {
    try (WsClient client = WsClient.connect(uri("?user=bob"))) {
      client.send(new JsonObject().put("type", "a"));
      client.send(new JsonObject().put("type", "b").put("n", 1));
      client.send(new JsonObject().put("type", "c"));
      client.send(new JsonObject().put("type", "b").put("n", 2));
      client.sendText("not json");
      assertThat(client.await("b", WAIT).getInteger("n")).isEqualTo(1);
      assertThat(client.awaitMatching(f -> f.getInteger("n", 0) == 2, WAIT).getString("type"))
          .isEqualTo("b");
      List<JsonObject> rest = client.drain(Duration.ofMillis(200));
      assertThat(rest).extracting(f -> f.getString("type")).containsExactly("!not-json");
      assertThatThrownBy(() -> client.await("z", Duration.ofMillis(100)))
          .isInstanceOf(AssertionError.class)
          .hasMessageContaining("no frame matching type z");
    }
  }

  @Test
  @DisplayName("a message the server sends in fragments arrives whole")
  void reassemblesFragments() {
    try (WsClient client = WsClient.connect(uri("?user=carol"))) {
      String text = "fragments ".repeat(20) + "é€";
      client.send(new JsonObject().put("type", "fragmented").put("text", text).put("size", 7));
      assertThat(client.await("echo", WAIT).getString("text")).isEqualTo(text);
    }
  }

  @Test
  @DisplayName("awaitClose reports the server's close code")
  void readsCloseCode() {
    WsClient client = WsClient.connect(uri("?user=dave"));
    client.send(new JsonObject().put("type", "close").put("code", 4000));
    assertThat(client.awaitClose(WAIT)).isEqualTo(4000);
    assertThat(client.isClosed()).isTrue();
    client.close();
  }

  @Test
  @DisplayName("close sends a normal close that the server sees")
  void closesNormally() throws InterruptedException {
    server.closeCodes.clear();
    WsClient client = WsClient.connect(uri("?user=erin"));
    client.welcome();
    client.close();
    assertThat(server.closeCodes.poll(5, TimeUnit.SECONDS)).isEqualTo((short) 1000);
    assertThat(client.isClosed()).isTrue();
  }

  @Test
  @DisplayName("server pings are answered with pongs")
  void answersPings() throws InterruptedException {
    try (WsClient client = WsClient.connect(uri("?user=frank"))) {
      int before = server.pongs.get();
      client.send(new JsonObject().put("type", "ping"));
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (server.pongs.get() == before && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(server.pongs.get()).isGreaterThan(before);
    }
  }

  @Test
  @DisplayName("a refused handshake reports its HTTP status")
  void reportsRefusedHandshake() {
    assertThat(WsClient.handshakeStatus(uri(""))).isEqualTo(401);
    assertThat(WsClient.handshakeStatus(uri("?user=mallory"))).isEqualTo(403);
    assertThat(WsClient.handshakeStatus(uri("?user=grace"))).isEqualTo(101);
    assertThatThrownBy(() -> WsClient.connect(uri("")))
        .hasMessageContaining("refused with HTTP 401");
  }
}
