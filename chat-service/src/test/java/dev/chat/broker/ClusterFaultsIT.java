package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static dev.chat.broker.BrokerNode.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RedisServer;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What only a Redis Cluster can do to the Redis backend: rooms on every shard, a dead owner's
 * entries on every shard, a master failed over, killed or resharded away from a busy room.
 */
@Timeout(300)
// The killed master comes back as a replica last: the other faults start from a whole cluster.
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayName("In Redis Cluster mode the Redis backend")
class ClusterFaultsIT extends BackendContract {

  private static final Duration RECOVERED_WITHIN = Duration.ofSeconds(30);
  private static final long LEASE_MS = 1_500;

  @RegisterExtension final RedisClusterBackends redis = new RedisClusterBackends();

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return redis.backends(settings);
  }

  @Override
  protected void settled(BrokerNode node) {
    redis.settled(node);
  }

  /** {@code perMaster} fresh rooms on each master, by master port. */
  private Map<Integer, List<String>> roomsOnEveryMaster(int perMaster) {
    Map<Integer, List<String>> byMaster = new LinkedHashMap<>();
    List<RedisServer> masters = redis.cluster.masters();
    masters.forEach(m -> byMaster.put(m.port(), new ArrayList<>()));
    while (byMaster.values().stream().anyMatch(l -> l.size() < perMaster)) {
      String r = room();
      int port = redis.cluster.masterOf(Slots.slot(RedisKeys.channel(r))).port();
      if (byMaster.get(port).size() < perMaster) {
        byMaster.get(port).add(r);
      }
    }
    assertThat(byMaster).hasSize(3);
    return byMaster;
  }

  private static List<String> all(Map<Integer, List<String>> rooms) {
    return rooms.values().stream().flatMap(List::stream).toList();
  }

  /** Publishes, retrying the same id while the cluster fails over (a client's retry). */
  private static Stored publishRetrying(BrokerNode node, Draft d) {
    long deadline = System.currentTimeMillis() + RECOVERED_WITHIN.toMillis();
    while (true) {
      try {
        return node.publish(d);
      } catch (AssertionError e) {
        if (System.currentTimeMillis() > deadline) {
          throw e;
        }
        pause();
      }
    }
  }

  /** Between polls, so a 2-core machine keeps its CPU for the Redis nodes failing over. */
  private static void pause() {
    try {
      Thread.sleep(10);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static String epochOf(BrokerNode node, String room) {
    return node.read(room, ReadRequest.stateOnly()).epoch();
  }

  @Test
  @DisplayName(
      "rooms on every shard deliver across brokers, and a broker that just started reports no resync")
  void roomsOnEveryShard() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    List<String> rooms = all(roomsOnEveryMaster(4));
    rooms.forEach(b::subscribe);
    String u = user();
    for (String r : rooms) {
      Stored s = a.publish(draft(r, u, "m1-" + r));
      assertThat(s.seq()).isEqualTo(1);
    }
    rooms.forEach(r -> assertThat(seqs(b.awaitSeq(r, 1))).containsExactly(1L));
    assertThat(a.resyncs()).isZero();
    assertThat(b.resyncs()).isZero();
    assertThat(a.ready()).isTrue();
  }

  @Test
  @DisplayName(
      "when a broker dies without a goodbye, a survivor announces its users' leaves on every shard")
  void deadOwnerReapedOnEveryShard() {
    Cluster cluster = cluster(Map.of("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS)));
    BrokerNode survivor = cluster.node();
    Vertx doomedVertx = Vertx.vertx();
    BrokerNode doomed = cluster.node(doomedVertx);
    List<String> rooms = all(roomsOnEveryMaster(2));
    Map<String, String> users = new HashMap<>();
    for (String r : rooms) {
      survivor.subscribe(r);
      String u = user();
      users.put(r, u);
      doomed.join(r, u, latest(0));
      survivor.awaitPresence(r, "join", u);
    }

    doomed.forget();
    await(
        doomedVertx.close().toCompletionStage().toCompletableFuture(), "closing the doomed Vert.x");
    for (String r : rooms) {
      survivor.awaitPresence(r, "leave", users.get(r), RECOVERED_WITHIN);
      assertThat(survivor.read(r, ReadRequest.stateOnly()).online()).isZero();
    }
  }

  @Test
  @DisplayName(
      "a CLUSTER FAILOVER gives the shard's rooms a new epoch on their next write, the subscriber follows the new master, and only that shard's rooms resync")
  void failover() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    Map<Integer, List<String>> byMaster = roomsOnEveryMaster(2);
    List<String> rooms = all(byMaster);
    rooms.forEach(b::subscribe);
    String u = user();
    Map<String, String> epochs = new HashMap<>();
    for (String r : rooms) {
      a.publish(draft(r, u, "before-" + r));
      epochs.put(r, epochOf(a, r));
      b.awaitSeq(r, 1);
    }
    String moving = rooms.get(0);
    int slot = Slots.slot(RedisKeys.channel(moving));
    int oldMaster = redis.cluster.masterOf(slot).port();
    redis.cluster.failover(redis.cluster.replicaOf(slot));

    for (String r : rooms) {
      Stored s = publishRetrying(a, draft(r, u, "after-" + r));
      assertThat(s.seq()).as("the history survived a graceful failover").isEqualTo(2);
      boolean sameShard = byMaster.get(oldMaster).contains(r);
      if (sameShard) {
        assertThat(epochOf(a, r))
            .as("a new master, a new epoch for " + r)
            .isNotEqualTo(epochs.get(r));
      } else {
        assertThat(epochOf(a, r)).as("an untouched shard keeps " + r).isEqualTo(epochs.get(r));
      }
    }
    waitUntil("b ready on the new master", RECOVERED_WITHIN, b::ready);
    for (String r : rooms) {
      // Published before b resubscribed, a message reaches b as a resync (the hub repairs the gap
      // from history); never as nothing.
      waitUntil(
          "b hears the new message of " + r + " or resyncs the room",
          RECOVERED_WITHIN,
          () -> b.messages(r).stream().anyMatch(m -> m.seq() == 2) || b.resynced(r));
      Stored live = a.publish(draft(r, u, "live-" + r));
      b.awaitSeq(r, live.seq());
    }
    for (String r : byMaster.get(oldMaster)) {
      assertThat(b.resynced(r)).as("the failed-over shard's room " + r + " resynced").isTrue();
    }
    for (int port : byMaster.keySet()) {
      if (port != oldMaster) {
        byMaster.get(port).forEach(r -> assertThat(b.resynced(r)).as(r).isFalse());
      }
    }
  }

  @Test
  @DisplayName(
      "a killed master turns the broker unready until its replica took over; its rooms get a new epoch, and it returns as a replica")
  @Order(Integer.MAX_VALUE)
  void killedMaster() throws InterruptedException {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    Map<Integer, List<String>> byMaster = roomsOnEveryMaster(2);
    List<String> rooms = all(byMaster);
    rooms.forEach(b::subscribe);
    String u = user();
    String victimRoom = rooms.get(0);
    int slot = Slots.slot(RedisKeys.channel(victimRoom));
    RedisServer victim = redis.cluster.masterOf(slot);
    a.publish(draft(victimRoom, u, "before"));
    String before = epochOf(a, victimRoom);
    b.awaitSeq(victimRoom, 1);

    AtomicBoolean sawUnready = new AtomicBoolean();
    AtomicBoolean watching = new AtomicBoolean(true);
    Thread watcher =
        new Thread(
            () -> {
              while (watching.get()) {
                if (!a.ready()) {
                  sawUnready.set(true);
                }
                pause();
              }
            });
    watcher.start();
    redis.cluster.kill(victim);
    waitUntil("the broker ready again after the failover", RECOVERED_WITHIN, a::ready);
    watching.set(false);
    watcher.join();
    assertThat(sawUnready).as("unready while a shard it needs was unreachable").isTrue();

    Stored after = publishRetrying(a, draft(victimRoom, u, "after"));
    assertThat(epochOf(a, victimRoom)).as("a promoted replica is a new epoch").isNotEqualTo(before);
    waitUntil(
        "b hears the room's message or resyncs the room",
        RECOVERED_WITHIN,
        () ->
            b.messages(victimRoom).stream().anyMatch(m -> m.seq() == after.seq())
                || b.resynced(victimRoom));
    waitUntil("b ready on the new master", RECOVERED_WITHIN, b::ready);
    Stored live = a.publish(draft(victimRoom, u, "live"));
    b.awaitSeq(victimRoom, live.seq());

    redis.cluster.restart(victim);
    assertThat(redis.cluster.masters()).doesNotContain(victim);
    for (String r : rooms) {
      publishRetrying(a, draft(r, u, "late-" + r));
    }
    assertThat(a.ready()).isTrue();
    assertThat(b.ready()).isTrue();
  }

  @Test
  @DisplayName(
      "a busy room's slot resharded to another master loses and doubles nothing in its history, and its subscriber follows")
  void reshardBusyRoom() throws InterruptedException {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    int slot = Slots.slot(RedisKeys.channel(r));
    b.subscribe(r);
    String u = user();
    AtomicBoolean sending = new AtomicBoolean(true);
    List<Stored> acked = new CopyOnWriteArrayList<>();
    Thread sender =
        new Thread(
            () -> {
              int i = 0;
              while (sending.get()) {
                acked.add(publishRetrying(a, draft(r, u, "m" + i++)));
              }
            });
    sender.start();
    waitUntil("some messages before the move", RECOVERED_WITHIN, () -> b.messages(r).size() > 20);
    String epoch = epochOf(a, r);
    RedisServer source = redis.cluster.masterOf(slot);
    RedisServer target =
        redis.cluster.masters().stream().filter(m -> m != source).findFirst().orElseThrow();
    redis.cluster.reshard(slot, target);
    int movedAt = acked.size();
    waitUntil("messages after the move", RECOVERED_WITHIN, () -> acked.size() > movedAt + 20);
    sending.set(false);
    sender.join();

    List<Long> seqs = acked.stream().map(Stored::seq).toList();
    assertThat(seqs).as("one seq per message, in order").doesNotHaveDuplicates().isSorted();
    assertThat(acked.get(acked.size() - 1).seq()).isEqualTo(acked.size());
    // The room now lives on another master, whose identity differs from the one its keys carry:
    // that cannot be told from a rollback, so the room gets a new epoch (announced, never silent)
    // while its seqs and history go on.
    assertThat(epochOf(a, r)).as("another master, another epoch").isNotEqualTo(epoch);
    waitUntil("b ready on the new master", RECOVERED_WITHIN, b::ready);
    Stored live = a.publish(draft(r, u, "live"));
    b.awaitSeq(r, live.seq());
    List<Long> heard = seqs(b.messages(r));
    boolean gap = false;
    for (long seq = 1; seq <= live.seq(); seq++) {
      gap |= !heard.contains(seq);
    }
    if (gap) {
      assertThat(b.resynced(r)).as("what b missed live it is told to repair").isTrue();
    }
  }
}
