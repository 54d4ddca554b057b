package dev.chat.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.config.RedisSettings.Mode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The Redis mode settings")
class RedisSettingsTest {

  @Test
  @DisplayName("without any setting Redis is standalone, with mymaster, no replica acks and 1 s")
  void defaults() {
    RedisSettings redis = Config.from(Map.of()).redis();
    assertThat(redis.mode()).isEqualTo(Mode.STANDALONE);
    assertThat(redis.seeds()).isEmpty();
    assertThat(redis.sentinelMaster()).isEqualTo("mymaster");
    assertThat(redis.replicasAck()).isZero();
    assertThat(redis.replicasAckTimeoutMs()).isEqualTo(1_000);
  }

  @Test
  @DisplayName("a standalone URL is the one seed and still reaches the client unchanged")
  void standaloneUrl() {
    Config config = Config.from(Map.of("CHAT_REDIS_URL", "redis://10.0.0.1:6380"));
    assertThat(config.redisUrl()).isEqualTo("redis://10.0.0.1:6380");
    assertThat(config.redis().seeds()).containsExactly("redis://10.0.0.1:6380");
  }

  @Test
  @DisplayName("in cluster mode the URL is a comma-separated seed list, spaces and case ignored")
  void clusterSeeds() {
    RedisSettings redis =
        Config.from(
                Map.of(
                    "CHAT_REDIS_MODE", "Cluster",
                    "CHAT_REDIS_URL", "redis://h1:7000, redis://h2:7001 ,rediss://u:p@h3:7002"))
            .redis();
    assertThat(redis.mode()).isEqualTo(Mode.CLUSTER);
    assertThat(redis.seeds())
        .isEqualTo(List.of("redis://h1:7000", "redis://h2:7001", "rediss://u:p@h3:7002"));
  }

  @Test
  @DisplayName("sentinel mode reads the sentinels and the master's name")
  void sentinel() {
    RedisSettings redis =
        Config.from(
                Map.of(
                    "CHAT_REDIS_MODE", "sentinel",
                    "CHAT_REDIS_URL", "redis://s1:26379,redis://s2:26379",
                    "CHAT_REDIS_SENTINEL_MASTER", "chat-main"))
            .redis();
    assertThat(redis.mode()).isEqualTo(Mode.SENTINEL);
    assertThat(redis.seeds()).hasSize(2);
    assertThat(redis.sentinelMaster()).isEqualTo("chat-main");
  }

  @Test
  @DisplayName("replica acks and their timeout are read as numbers")
  void replicaAcks() {
    RedisSettings redis =
        Config.from(
                Map.of(
                    "CHAT_REDIS_URL", "redis://h:6379",
                    "CHAT_REDIS_REPLICAS_ACK", "1",
                    "CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", "250"))
            .redis();
    assertThat(redis.replicasAck()).isEqualTo(1);
    assertThat(redis.replicasAckTimeoutMs()).isEqualTo(250);
  }

  @Test
  @DisplayName("an unknown mode is refused, naming the choices")
  void unknownMode() {
    refused(Map.of("CHAT_REDIS_MODE", "sharded"), "CHAT_REDIS_MODE must be standalone, sentinel");
  }

  @Test
  @DisplayName("cluster and sentinel mode without CHAT_REDIS_URL are refused")
  void modeWithoutUrl() {
    refused(Map.of("CHAT_REDIS_MODE", "cluster"), "CHAT_REDIS_MODE=cluster needs CHAT_REDIS_URL");
    refused(Map.of("CHAT_REDIS_MODE", "sentinel"), "list of sentinels");
  }

  @Test
  @DisplayName("a list of URLs in standalone mode is refused rather than half used")
  void listInStandalone() {
    refused(Map.of("CHAT_REDIS_URL", "redis://a:1,redis://b:2"), "needs CHAT_REDIS_MODE=cluster");
  }

  @Test
  @DisplayName("a seed that is not a redis:// URL with a host is refused, naming the seed")
  void badSeed() {
    refused(
        Map.of("CHAT_REDIS_MODE", "cluster", "CHAT_REDIS_URL", "redis://a:1,http://b:2"),
        "'http://b:2'");
    refused(
        Map.of("CHAT_REDIS_MODE", "cluster", "CHAT_REDIS_URL", "redis://a:1,,"), "an empty entry");
    refused(Map.of("CHAT_REDIS_MODE", "cluster", "CHAT_REDIS_URL", "redis:///x"), "no host");
    refused(
        Map.of("CHAT_REDIS_MODE", "sentinel", "CHAT_REDIS_URL", "redis://a b:1"), "CHAT_REDIS_URL");
  }

  @Test
  @DisplayName("replica acks out of range, not numbers, or without Redis are refused")
  void badAcks() {
    Map<String, String> url = Map.of("CHAT_REDIS_URL", "redis://h:1");
    refused(with(url, "CHAT_REDIS_REPLICAS_ACK", "-1"), "CHAT_REDIS_REPLICAS_ACK must be 0-16");
    refused(with(url, "CHAT_REDIS_REPLICAS_ACK", "one"), "CHAT_REDIS_REPLICAS_ACK must be a whole");
    refused(Map.of("CHAT_REDIS_REPLICAS_ACK", "1"), "CHAT_REDIS_REPLICAS_ACK needs CHAT_REDIS_URL");
    refused(with(url, "CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", "0"), "must be 1-60000");
  }

  @Test
  @DisplayName("a sentinel master name with a space is refused")
  void badMasterName() {
    refused(Map.of("CHAT_REDIS_SENTINEL_MASTER", "my master"), "CHAT_REDIS_SENTINEL_MASTER");
  }

  @Test
  @DisplayName("the settings print no credentials")
  void noCredentialsInToString() {
    Config config =
        Config.from(Map.of("CHAT_REDIS_MODE", "cluster", "CHAT_REDIS_URL", "redis://u:secret@h:1"));
    assertThat(config.redis().toString()).doesNotContain("secret").contains("cluster");
  }

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    var map = new java.util.HashMap<>(base);
    map.put(key, value);
    return map;
  }

  private static void refused(Map<String, String> env, String message) {
    assertThatThrownBy(() -> Config.from(env))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }
}
