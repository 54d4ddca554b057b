package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(120)
@DisplayName("The Redis Cluster fixture")
class RedisClusterIT {

  @RegisterExtension static final RedisClusterExtension redis = new RedisClusterExtension();

  @Test
  @DisplayName("three masters serve all 16384 slots, each with a replica of its own")
  void threeMastersWithReplicas() {
    assertThat(redis.cluster().seedUris())
        .hasSize(6)
        .allMatch(u -> u.startsWith("redis://127.0.0.1:"));
    assertThat(redis.cluster().masters()).hasSize(3);
    Set<RedisServer> replicas = new HashSet<>();
    for (int slot : List.of(0, 8000, 16383)) {
      RedisServer master = redis.cluster().masterOf(slot);
      RedisServer replica = redis.cluster().replicaOf(slot);
      assertThat(replica).isNotEqualTo(master);
      replicas.add(replica);
      try (RespClient c = master.client()) {
        String info = (String) c.call("CLUSTER", "INFO");
        assertThat(info).contains("cluster_state:ok", "cluster_slots_ok:16384");
      }
    }
    assertThat(replicas).hasSize(3);
  }

  @Test
  @DisplayName(
      "a key is served by its slot's master, and its replica's CLUSTER FAILOVER takes over")
  void failover() {
    String key = "k-" + UUID.randomUUID();
    int slot = slot(key);
    RedisServer master = redis.cluster().masterOf(slot);
    RedisServer replica = redis.cluster().replicaOf(slot);
    try (RespClient c = master.client()) {
      assertThat(c.call("SET", key, "v")).isEqualTo("OK");
      c.call("WAIT", "1", "2000");
    }
    redis.cluster().failover(replica);
    assertThat(redis.cluster().masterOf(slot)).isEqualTo(replica);
    assertThat(redis.cluster().replicaOf(slot)).isEqualTo(master);
    try (RespClient c = replica.client()) {
      assertThat(c.call("GET", key)).isEqualTo("v");
    }
    try (RespClient c = master.client()) {
      assertThatThrownBy(() -> c.call("SET", key, "w")).hasMessageContaining("MOVED " + slot);
    }
  }

  @Test
  @DisplayName("resharding one slot moves it and its keys to another master")
  void reshard() {
    String key = "k-" + UUID.randomUUID();
    int slot = slot(key);
    RedisServer source = redis.cluster().masterOf(slot);
    try (RespClient c = source.client()) {
      c.call("SET", key, "v");
    }
    RedisServer target =
        redis.cluster().masters().stream().filter(m -> m != source).findFirst().orElseThrow();
    redis.cluster().reshard(slot, target);
    assertThat(redis.cluster().masterOf(slot)).isEqualTo(target);
    assertThat(redis.cluster().masterOf(slot == 0 ? 1 : slot - 1))
        .as("the slot next to it")
        .isNotNull();
    try (RespClient c = target.client()) {
      assertThat(c.call("GET", key)).isEqualTo("v");
    }
    try (RespClient c = source.client()) {
      assertThatThrownBy(() -> c.call("GET", key))
          .hasMessageContaining("MOVED " + slot + " 127.0.0.1:" + target.port());
    }
  }

  @Test
  @DisplayName("a master killed with -9 is replaced by its replica and returns as a replica")
  void killAndRestart() {
    int slot = 12_000;
    RedisServer master = redis.cluster().masterOf(slot);
    RedisServer replica = redis.cluster().replicaOf(slot);
    redis.cluster().kill(master);
    assertThat(master.isAlive()).isFalse();
    assertThat(redis.cluster().masterOf(slot)).isEqualTo(replica);
    redis.cluster().restart(master);
    assertThat(redis.cluster().masterOf(slot)).isEqualTo(replica);
    assertThat(redis.cluster().replicaOf(slot)).isEqualTo(master);
    try (RespClient c = master.client()) {
      assertThat((String) c.call("ROLE").toString()).startsWith("[slave");
    }
  }

  private static int slot(String key) {
    try (RespClient c = redis.cluster().nodes().get(0).client()) {
      return Math.toIntExact((Long) c.call("CLUSTER", "KEYSLOT", key));
    }
  }
}
