package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
@DisplayName("The Redis Sentinel fixture")
class RedisSentinelsIT {

  private static RedisSentinels sentinels;

  @BeforeAll
  static void start() {
    sentinels = RedisSentinels.start();
  }

  @AfterAll
  static void stop() {
    if (sentinels != null) {
      sentinels.close();
    }
  }

  @Test
  @DisplayName("three sentinels name one master, which two replicas follow")
  void oneMasterTwoReplicas() {
    assertThat(sentinels.sentinelUris()).hasSize(3);
    RedisServer master = sentinels.master();
    assertThat(RedisSentinels.role(master)).isEqualTo("master");
    assertThat(sentinels.dataNodes().stream().filter(n -> n != master))
        .hasSize(2)
        .allSatisfy(n -> assertThat(RedisSentinels.role(n)).isEqualTo("slave"));
    for (RedisServer s : sentinels.sentinels()) {
      assertThat(RedisSentinels.role(s)).isEqualTo("sentinel");
    }
  }

  @Test
  @DisplayName(
      "after kill -9 of the master a replica is promoted, keeps the data, and the old one returns as its replica")
  void killedMasterFailsOver() {
    RedisServer before = sentinels.master();
    String key = "k-" + UUID.randomUUID();
    try (RespClient c = before.client()) {
      c.call("SET", key, "v");
      assertThat((Long) c.call("WAIT", "2", "2000")).isEqualTo(2L);
    }
    long started = System.nanoTime();
    RedisServer killed = sentinels.killMaster();
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(killed).isEqualTo(before);
    RedisServer after = sentinels.master();
    assertThat(after).isNotEqualTo(before);
    assertThat(tookMs).as("failover time").isGreaterThanOrEqualTo(RedisSentinels.DOWN_AFTER_MS);
    try (RespClient c = after.client()) {
      assertThat(c.call("GET", key)).isEqualTo("v");
    }
    sentinels.restart(killed);
    assertThat(RedisSentinels.role(killed)).isEqualTo("slave");
    assertThat(sentinels.master()).isEqualTo(after);
  }
}
