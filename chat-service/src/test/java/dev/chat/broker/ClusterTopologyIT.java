package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.Ports;
import dev.chat.testing.RedisClusterExtension;
import dev.chat.testing.RedisServer;
import dev.chat.testing.TestLoop;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(120)
@DisplayName("The cluster topology read from a real Redis Cluster")
class ClusterTopologyIT {

  @RegisterExtension static final RedisClusterExtension redis = new RedisClusterExtension();

  private TestLoop loop;
  private NodeCommands nodes;

  @BeforeEach
  void startLoop() {
    loop = TestLoop.on(redis.vertx());
    nodes =
        loop.call(() -> new NodeCommands(redis.vertx(), redis.cluster().seedUris().get(0), 2_000));
  }

  @AfterEach
  void stopLoop() {
    loop.await(() -> nodes.close());
    loop.close();
  }

  @Test
  @DisplayName("three shards cover all slots, with the masters and replicas the cluster reports")
  void readsTheShards() {
    ClusterTopology t = read(seeds());
    assertThat(t.shards()).hasSize(3);
    assertThat(t.coveredSlots()).isEqualTo(Slots.COUNT);
    for (int slot : List.of(0, 5000, 10_000, 16_383)) {
      assertThat(t.masterOf(slot)).isEqualTo(address(redis.cluster().masterOf(slot)));
      assertThat(t.shardOf(slot).replicas())
          .containsExactly(address(redis.cluster().replicaOf(slot)));
    }
    assertThat(t.shards())
        .allSatisfy(s -> assertThat(t.masterOf(s.firstSlot())).isEqualTo(s.master()));
  }

  @Test
  @DisplayName("CLUSTER SLOTS, for servers before 7.0, gives the same masters as CLUSTER SHARDS")
  void slotsAgreesWithShards() {
    RedisAddress seed = seeds().get(0);
    ClusterTopology fromSlots =
        loop.await(
            () ->
                nodes
                    .send(seed, Request.cmd(Command.CLUSTER).arg("SLOTS"))
                    .map(r -> ClusterTopology.fromSlots(r, seed.host())));
    assertThat(fromSlots.sameMasters(read(seeds()))).isTrue();
    assertThat(fromSlots.coveredSlots()).isEqualTo(Slots.COUNT);
  }

  @Test
  @DisplayName("seeds that nothing listens on are skipped for the next one that answers")
  void skipsUnreachableSeeds() {
    List<RedisAddress> seeds = new ArrayList<>();
    seeds.add(new RedisAddress("127.0.0.1", Ports.freePort()));
    seeds.add(new RedisAddress("127.0.0.1", Ports.freePort()));
    seeds.add(seeds().get(3));
    assertThat(read(seeds).coveredSlots()).isEqualTo(Slots.COUNT);
  }

  @Test
  @DisplayName("with no seed reachable the read fails as unavailable")
  void failsWithoutSeeds() {
    List<RedisAddress> dead = List.of(new RedisAddress("127.0.0.1", Ports.freePort()));
    assertThatThrownBy(() -> read(dead))
        .isInstanceOf(BrokerUnavailableException.class)
        .hasMessageContaining("no Redis Cluster node answered");
  }

  @Test
  @DisplayName("after a CLUSTER FAILOVER the next read names the promoted replica as master")
  void afterFailover() {
    int slot = 7_000;
    ClusterTopologyReader reader = loop.call(() -> new ClusterTopologyReader(nodes, seeds()));
    ClusterTopology before = loop.await(reader::read);
    RedisServer replica = redis.cluster().replicaOf(slot);
    RedisAddress oldMaster = before.masterOf(slot);
    redis.cluster().failover(replica);
    ClusterTopology after = loop.await(reader::read);
    assertThat(after.masterOf(slot)).isEqualTo(address(replica));
    assertThat(after.shardOf(slot).replicas()).contains(oldMaster);
    assertThat(after.sameMasters(before)).isFalse();
    assertThat(after.masters()).hasSize(3).doesNotContain(oldMaster);
  }

  @Test
  @DisplayName("after one slot is resharded the read gives it the new master and only it moved")
  void afterReshard() {
    int slot = 1_234;
    ClusterTopology before = read(seeds());
    RedisAddress source = before.masterOf(slot);
    RedisServer target =
        redis.cluster().masters().stream()
            .filter(m -> !address(m).equals(source))
            .findFirst()
            .orElseThrow();
    redis.cluster().reshard(slot, target);
    ClusterTopology after = read(seeds());
    assertThat(after.masterOf(slot)).isEqualTo(address(target));
    for (int s = 0; s < Slots.COUNT; s++) {
      if (s != slot) {
        assertThat(after.masterOf(s)).as("slot %d", s).isEqualTo(before.masterOf(s));
      }
    }
    assertThat(after.shardOf(slot).ranges()).contains(new ClusterTopology.SlotRange(slot, slot));
  }

  private ClusterTopology read(List<RedisAddress> seeds) {
    return loop.await(() -> new ClusterTopologyReader(nodes, seeds).read());
  }

  private static List<RedisAddress> seeds() {
    return redis.cluster().seedUris().stream().map(RedisAddress::of).toList();
  }

  private static RedisAddress address(RedisServer node) {
    return new RedisAddress("127.0.0.1", node.port());
  }
}
