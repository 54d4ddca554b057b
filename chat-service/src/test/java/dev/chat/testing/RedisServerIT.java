package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class RedisServerIT {

  private static RedisServer redis;

  @BeforeAll
  static void startRedis() {
    redis = RedisServer.start();
  }

  @AfterAll
  static void stopRedis() {
    redis.close();
  }

  @Test
  @DisplayName("the server answers PING and its uri names the loopback address and port")
  void answersPing() {
    try (RespClient client = redis.client()) {
      assertThat(client.call("PING")).isEqualTo("PONG");
    }
    assertThat(redis.uri()).isEqualTo("redis://127.0.0.1:" + redis.port());
  }

  @Test
  @DisplayName("replies come back as strings, numbers, lists and null, and errors as exceptions")
  void mapsReplies() {
    String key = "k-" + UUID.randomUUID();
    try (RespClient client = redis.client()) {
      assertThat(client.call("SET", key, "välue")).isEqualTo("OK");
      assertThat(client.call("GET", key)).isEqualTo("välue");
      assertThat(client.call("GET", key + "-missing")).isNull();
      assertThat(client.call("RPUSH", key + "-list", "a", "b", "c")).isEqualTo(3L);
      assertThat(client.call("LTRIM", key + "-list", "1", "-1")).isEqualTo("OK");
      assertThat(client.call("LRANGE", key + "-list", "0", "-1")).isEqualTo(List.of("b", "c"));
      assertThatThrownBy(() -> client.call("INCR", key))
          .isInstanceOf(RespClient.RespException.class)
          .hasMessageContaining("ERR");
      assertThat(client.call("PING")).as("usable after an error").isEqualTo("PONG");
    }
  }

  @Test
  @DisplayName("a subscriber reads what another connection publishes")
  void readsPushedMessages() {
    String channel = "ch-" + UUID.randomUUID();
    try (RespClient subscriber = redis.client();
        RespClient publisher = redis.client()) {
      assertThat(subscriber.call("SUBSCRIBE", channel))
          .isEqualTo(List.of("subscribe", channel, 1L));
      assertThat(publisher.call("PUBLISH", channel, "hi")).isEqualTo(1L);
      assertThat(subscriber.read(Duration.ofSeconds(2)))
          .isEqualTo(List.of("message", channel, "hi"));
      assertThat(subscriber.read(Duration.ofMillis(50))).isNull();
    }
  }

  @Test
  @DisplayName(
      "kill drops the data and refuses connections; restart brings an empty Redis on the same port")
  void killAndRestart() {
    int port = redis.port();
    try (RespClient client = redis.client()) {
      client.call("SET", "survives", "no");
    }
    redis.kill();
    assertThat(redis.isAlive()).isFalse();
    assertThatThrownBy(redis::client).isInstanceOf(UncheckedIOException.class);

    redis.restart();
    assertThat(redis.port()).isEqualTo(port);
    try (RespClient client = redis.client()) {
      assertThat(client.call("GET", "survives")).isNull();
      assertThat(client.call("DBSIZE")).isEqualTo(0L);
    }
  }
}
