package dev.chat.it;

import static dev.chat.it.ApiClient.message;
import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.it.ApiClient.Answer;
import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.RedisServer;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server API as configuration shapes it, each on nodes of its own: off without a key, on a port
 * of its own, and refusing with 503 while Redis is down.
 */
@Timeout(90)
class ServerApiNodesIT {

  @Test
  @DisplayName("without CHAT_API_KEY every /api path answers 404, with a key or without")
  void offWithoutAKey() {
    try (ChatNode node = ChatNode.builder().name("api-off-" + suffix()).start()) {
      for (ApiClient api : List.of(new ApiClient(node.port()), new ApiClient(node.port(), null))) {
        assertThat(api.get("/api/openapi.json").status()).isEqualTo(404);
        assertThat(api.post("/api/rooms/general/messages", message(id(), "system", "x")).status())
            .isEqualTo(404);
        assertThat(api.get("/api/rooms/general/presence").status()).isEqualTo(404);
        assertThat(api.post("/api/users/bob/disconnect").status()).isEqualTo(404);
      }
      assertThat(node.httpStatus("/health/ready")).isEqualTo(200);
    }
  }

  @Test
  @DisplayName(
      "with CHAT_API_PORT the API is served on that port only; the public port answers 404 under /api and serves the rest")
  void onAPortOfItsOwn() {
    int apiPort = dev.chat.testing.Ports.freePort();
    try (ChatNode node =
        ChatNode.builder()
            .name("api-port-" + suffix())
            .env("CHAT_API_KEY", ApiClient.KEY)
            .env("CHAT_API_PORT", Integer.toString(apiPort))
            .start()) {
      ApiClient api = new ApiClient(apiPort);
      String room = room();
      try (WsClient alice = WsClient.connect(node.wsUri(user("alice")))) {
        alice.welcome();
        alice.send(new JsonObject().put("type", "join").put("room", room));
        alice.await("joined", ChatPeer.WAIT);
        JsonObject stored = api.publish(room, id(), "system", "through the API port");
        assertThat(alice.await("message", ChatPeer.WAIT).getLong("seq"))
            .isEqualTo(stored.getLong("seq"));
      }
      assertThat(api.get("/api/openapi.json").status()).isEqualTo(200);
      assertThat(api.withKey(null).get("/api/openapi.json").status()).isEqualTo(401);
      ApiClient publicPort = new ApiClient(node.port());
      assertThat(publicPort.get("/api/openapi.json").status()).isEqualTo(404);
      assertThat(publicPort.get("/api/rooms/" + room + "/messages").status()).isEqualTo(404);
      assertThat(node.httpStatus("/health/ready")).isEqualTo(200);
      assertThat(node.httpStatus("/")).isEqualTo(200);
    }
  }

  @Test
  @DisplayName(
      "while Redis is down every endpoint that needs it answers 503 unavailable, retryable; once it is back they answer again")
  void unavailableWhileRedisIsDown() {
    try (RedisServer redis = RedisServer.start();
        ChatNode node =
            ChatNode.builder()
                .name("api-outage-" + suffix())
                .env("CHAT_REDIS_URL", redis.uri())
                .env("CHAT_API_KEY", ApiClient.KEY)
                .env("CHAT_INSTANCES", "1")
                .env("CHAT_BROKER_TIMEOUT_MS", "1000")
                .start()) {
      ApiClient api = new ApiClient(node.port());
      String room = room();
      api.publish(room, id(), "system", "before the outage");

      redis.kill();

      List<Supplier<Answer>> calls =
          List.of(
              () -> api.post("/api/rooms/" + room + "/messages", message(id(), "system", "x")),
              () -> api.post("/api/users/bob/messages", message(id(), "alice", "x")),
              () -> api.get("/api/rooms/" + room + "/messages"),
              () -> api.get("/api/rooms/" + room + "/presence"),
              () -> api.post("/api/users/bob/disconnect"));
      for (Supplier<Answer> call : calls) {
        Answer a = call.get();
        assertThat(a.status()).as(a.toString()).isEqualTo(503);
        assertThat(a.json())
            .isEqualTo(new JsonObject().put("error", "unavailable").put("retryable", true));
      }
      Answer bad = api.post("/api/rooms/" + room + "/messages", message(id(), "system", " "));
      assertThat(bad.status()).as("a bad request is still a 400").isEqualTo(400);

      redis.restart();
      awaitReady(node);
      assertThat(api.publish(room, id(), "system", "after the outage").getBoolean("duplicate"))
          .isFalse();
      assertThat(api.get("/api/rooms/" + room + "/presence").status()).isEqualTo(200);
      assertThat(api.post("/api/users/bob/disconnect").status()).isEqualTo(200);
    }
  }

  /** Waits for the node's own report that it reaches Redis again. */
  private static void awaitReady(ChatNode node) {
    long deadline = System.nanoTime() + ChatPeer.WAIT.toNanos() * 2;
    while (node.httpStatus("/health/ready") != 200) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(node + " not ready again; log:\n" + node.logTail(20));
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private static String suffix() {
    return UUID.randomUUID().toString().substring(0, 6);
  }
}
