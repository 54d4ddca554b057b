package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.Ports;
import dev.chat.testing.RedisSentinels;
import dev.chat.testing.RedisServer;
import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
@DisplayName("The master as real Redis Sentinels name it")
class SentinelMasterIT {

  private static RedisSentinels sentinels;
  private static Vertx vertx;
  private TestLoop loop;
  private SentinelMaster master;
  private final List<RedisAddress> changes = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void start() {
    sentinels = RedisSentinels.start();
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      vertx.close().await();
    }
    if (sentinels != null) {
      sentinels.close();
    }
  }

  @BeforeEach
  void startLoop() {
    loop = TestLoop.on(vertx);
  }

  @AfterEach
  void stopLoop() {
    if (master != null) {
      loop.await(() -> master.close());
    }
    loop.close();
  }

  @Test
  @DisplayName("the master is the node the sentinels name, even when the first sentinel is down")
  void resolves() {
    List<String> uris = new ArrayList<>();
    uris.add("redis://127.0.0.1:" + Ports.freePort());
    uris.addAll(sentinels.sentinelUris());
    SentinelMaster m = create(uris, RedisSentinels.MASTER_NAME);
    RedisAddress found = loop.await(m::start);
    assertThat(found.toString()).isEqualTo(sentinels.masterAddress());
    assertThat(loop.call(master::current)).isEqualTo(found);
  }

  @Test
  @DisplayName("a name no sentinel monitors fails as unavailable, naming it")
  void unknownName() {
    SentinelMaster m = create(sentinels.sentinelUris(), "other");
    assertThatThrownBy(() -> loop.await(m::start))
        .isInstanceOf(BrokerUnavailableException.class)
        .hasMessageContaining("no sentinel named a master for other");
  }

  @Test
  @DisplayName("a connection to a replica is refused and closed; one to the master is kept")
  void requireMaster() {
    RedisServer primary = sentinels.master();
    RedisServer replica =
        sentinels.dataNodes().stream().filter(n -> n != primary).findFirst().orElseThrow();
    Redis toReplica = Redis.createClient(vertx, replica.uri());
    Redis toMaster = Redis.createClient(vertx, primary.uri());
    try {
      assertThatThrownBy(
              () -> loop.await(() -> toReplica.connect().compose(SentinelMaster::requireMaster)))
          .isInstanceOf(BrokerUnavailableException.class)
          .hasMessageContaining("is a slave, not a master");
      assertThat(loop.await(() -> toMaster.connect().compose(SentinelMaster::requireMaster)))
          .isNotNull();
    } finally {
      toReplica.close();
      toMaster.close();
    }
  }

  @Test
  @DisplayName("after kill -9 of the master the promoted replica is reported within the failover")
  void reportsTheNewMaster() {
    long recheckMs = 500;
    SentinelMaster m = create(sentinels.sentinelUris(), RedisSentinels.MASTER_NAME, recheckMs);
    RedisAddress before = loop.await(m::start);
    long started = System.nanoTime();
    RedisServer killed = sentinels.killMaster();
    String promoted = sentinels.masterAddress();
    long deadline = System.nanoTime() + Duration.ofMillis(3 * recheckMs + 2_000).toNanos();
    while (changes.isEmpty()) {
      assertThat(System.nanoTime()).as("waiting for the change").isLessThan(deadline);
      loop.pass(20);
    }
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    assertThat(changes).hasSize(1);
    assertThat(changes.get(0).toString()).isEqualTo(promoted).isNotEqualTo(before.toString());
    assertThat(loop.call(master::current)).isEqualTo(changes.get(0));
    // down-after (2 s) + election + failover, then at most one recheck
    assertThat(tookMs).as("ms from kill to report").isLessThan(15_000);
    System.out.println("kill -9 of the master to the new master reported: " + tookMs + " ms");
    sentinels.restart(killed);
  }

  private SentinelMaster create(List<String> uris, String name) {
    return create(uris, name, 1_000);
  }

  private SentinelMaster create(List<String> uris, String name, long recheckMs) {
    master = loop.call(() -> new SentinelMaster(vertx, uris, name, 1_000, recheckMs, changes::add));
    return master;
  }
}
