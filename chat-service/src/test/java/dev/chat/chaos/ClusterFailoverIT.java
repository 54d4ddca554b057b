package dev.chat.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisCluster;
import dev.chat.testing.RedisServer;
import dev.chat.testing.ResumingChatClient;
import dev.chat.testing.ResumingClients;
import dev.chat.testing.TestIds;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The faults of a Redis Cluster under load, through real chat nodes: two nodes in {@code
 * CHAT_REDIS_MODE=cluster} on a 3+3 cluster, 24 clients in 6 rooms (two on each master) sending
 * with de-duplication ids and resuming after every fault (the chaos suite's clients and ledger),
 * while the shard of one room is failed over with {@code CLUSTER FAILOVER}, its master is killed
 * with {@code kill -9} and comes back as a replica, or the room's slot is resharded to another
 * master.
 *
 * <p>Each fault runs twice. With {@code CHAT_REDIS_REPLICAS_ACK=1} a message is acked only once the
 * shard's replica holds it: 0 acked messages lost, 0 shown twice. With 0, an ack received just
 * before a kill may be gone, and the promise is that the clients of that shard's rooms are told (a
 * new epoch through {@code recovered:false}); a gap inside an epoch is a violation. A graceful
 * failover and a reshard lose nothing even then, so only the kill gets a loss window.
 *
 * <p>One cluster serves the whole class (a fault leaves it whole: 3 masters, 3 replicas); each test
 * starts its own chat nodes with its replica-ack setting.
 */
@Timeout(180)
@DisplayName("Chat through Redis Cluster faults under load")
class ClusterFailoverIT {

  private static final int NODES = 2;
  private static final int ROOMS_PER_MASTER = 2;
  private static final int CLIENTS = 24;
  private static final int HISTORY_ON_JOIN = 50;
  private static final long SEND_EVERY_MS = 300;
  private static final Duration RECOVERY = Duration.ofSeconds(30);
  private static final Duration TRAFFIC = Duration.ofSeconds(2);

  private static RedisCluster redis;

  private final String run = TestIds.random();
  private final ChatNode[] nodes = new ChatNode[NODES];
  private ResumingClients fleet;
  private List<ResumingChatClient> clients = List.of();
  private List<String> rooms = List.of();

  private enum Fault {
    FAILOVER("CLUSTER FAILOVER"),
    KILL("kill -9 of the master, back as a replica"),
    RESHARD("the room's slot resharded");

    final String description;

    Fault(String description) {
      this.description = description;
    }
  }

  @BeforeAll
  static void startCluster() {
    redis = RedisCluster.start();
  }

  @AfterAll
  static void stopCluster() {
    if (redis != null) {
      redis.close();
    }
  }

  @AfterEach
  void stop() {
    if (fleet != null) {
      fleet.close();
    }
    for (ChatNode node : nodes) {
      if (node != null) {
        node.close();
      }
    }
  }

  @Test
  @DisplayName(
      "CLUSTER FAILOVER with CHAT_REDIS_REPLICAS_ACK=1: no acked message lost, none shown twice")
  void failoverWithReplicaAcks() throws Exception {
    assertNothingLost(fault(Fault.FAILOVER, 1));
  }

  @Test
  @DisplayName(
      "CLUSTER FAILOVER with CHAT_REDIS_REPLICAS_ACK=0: the shard's clients are moved to a new epoch with recovered:false, no gap is silent")
  void failoverWithoutReplicaAcks() throws Exception {
    fault(Fault.FAILOVER, 0);
  }

  @Test
  @DisplayName(
      "kill -9 of a master, back as a replica, with CHAT_REDIS_REPLICAS_ACK=1: no acked message lost, none shown twice")
  void killWithReplicaAcks() throws Exception {
    assertNothingLost(fault(Fault.KILL, 1));
  }

  @Test
  @DisplayName(
      "kill -9 of a master, back as a replica, with CHAT_REDIS_REPLICAS_ACK=0: what is lost is announced by a new epoch, never silent")
  void killWithoutReplicaAcks() throws Exception {
    fault(Fault.KILL, 0);
  }

  @Test
  @DisplayName(
      "a busy room's slot resharded with CHAT_REDIS_REPLICAS_ACK=1: no acked message lost, none shown twice")
  void reshardWithReplicaAcks() throws Exception {
    assertNothingLost(fault(Fault.RESHARD, 1));
  }

  @Test
  @DisplayName(
      "a busy room's slot resharded with CHAT_REDIS_REPLICAS_ACK=0: its clients are moved to a new epoch with recovered:false, no gap is silent")
  void reshardWithoutReplicaAcks() throws Exception {
    fault(Fault.RESHARD, 0);
  }

  private static void assertNothingLost(Ledger.Report report) {
    assertThat(report.lost()).as("acked messages lost").isZero();
    assertThat(report.lostWithEpoch()).as("acked messages allowed to go").isZero();
  }

  /**
   * Runs {@code fault} under load on the shard of the first room and checks the ledger: every
   * promise kept, every send acked, the affected rooms' clients moved to a new epoch (the rest
   * not).
   */
  private Ledger.Report fault(Fault fault, int replicasAck) throws Exception {
    long started = System.nanoTime();
    redis.awaitSettled();
    rooms = ClusterRooms.onEveryMaster(redis, "cf-" + run, ROOMS_PER_MASTER);
    CompletableFuture.allOf(
            CompletableFuture.runAsync(() -> nodes[0] = node(0, replicasAck)),
            CompletableFuture.runAsync(() -> nodes[1] = node(1, replicasAck)))
        .get(90, TimeUnit.SECONDS);
    startClients();
    awaitClients("all clients joined", ResumingChatClient::healthy);
    Thread.sleep(TRAFFIC.toMillis());

    String victimRoom = rooms.get(0);
    int slot = ClusterRooms.slot(redis, victimRoom);
    RedisServer victim = redis.masterOf(slot);
    Set<String> affected =
        fault == Fault.RESHARD
            ? Set.of(victimRoom)
            : rooms.stream()
                .filter(r -> ClusterRooms.masterOf(redis, r) == victim)
                .collect(Collectors.toSet());
    Map<String, String> epochs = epochs();
    long ackedBefore = fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::ackedCount));
    long faultAt = ResumingChatClient.now();
    switch (fault) {
      case FAILOVER -> redis.failover(redis.replicaOf(slot));
      case KILL -> {
        redis.kill(victim);
        redis.restart(victim);
      }
      case RESHARD -> {
        RedisServer target =
            redis.masters().stream().filter(m -> m != victim).findFirst().orElseThrow();
        redis.reshard(slot, target);
      }
    }
    long faultMs = ResumingChatClient.now() - faultAt;
    // Another master is another dataset identity: the rooms it now serves start a new epoch,
    // announced to their clients; the other shards' rooms go on in theirs.
    awaitClients(
        "the clients of " + affected + " moved to a new epoch, the others not",
        c ->
            c.healthy()
                && c.epoch() != null
                && affected.contains(c.room()) != c.epoch().equals(epochs.get(c.user())));
    long recoveredMs = ResumingChatClient.now() - faultAt;
    Thread.sleep(TRAFFIC.toMillis());
    fleet.sending(false);
    awaitClients("every send acked", ResumingChatClient::allAcked);
    Map<String, Ledger.RoomHistory> histories = awaitCaughtUp();

    // Without replica acks, what the killed master acked in its last moments may not have reached
    // the replica that took over. A graceful failover and a reshard lose nothing.
    List<Ledger.Loss> losses =
        replicasAck == 0 && fault == Fault.KILL
            ? List.of(new Ledger.Loss(fault.description, faultAt - 2_000, faultAt + 1_000))
            : List.of();
    Ledger.Report report = fleet.onLoop(() -> new Ledger().verify(histories, clients, losses));
    System.out.println(
        "cluster "
            + fault.description
            + ", replicas ack "
            + replicasAck
            + ": "
            + report.counts()
            + "; the fault took "
            + faultMs
            + " ms, clients in new epochs "
            + recoveredMs
            + " ms after it began; "
            + ((System.nanoTime() - started) / 1_000_000)
            + " ms in all");
    report.violations().forEach(v -> System.out.println("  " + v));
    assertThat(report.violations()).as("broken promises").isEmpty();
    assertThat(report.lost()).as("acked messages lost outside the fault's window").isZero();
    assertThat(report.acked()).as("every send acked").isEqualTo(report.sent());
    assertThat(report.acked()).as("acked after the fault").isGreaterThan(ackedBefore);
    long affectedClients =
        fleet.onLoop(() -> clients.stream().filter(c -> affected.contains(c.room())).count());
    assertThat(report.resets())
        .as("clients told of the new epoch (recovered:false)")
        .isGreaterThanOrEqualTo(affectedClients);
    assertThat(fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::sameEpochResets)))
        .as("resumes refused within an epoch")
        .isZero();
    return report;
  }

  private ChatNode node(int i, int replicasAck) {
    return ChatNode.builder()
        .name("cluster-faults-" + run + "-" + i)
        .env("CHAT_REDIS_MODE", "cluster")
        .env("CHAT_REDIS_URL", String.join(",", redis.seedUris()))
        .env("CHAT_REDIS_REPLICAS_ACK", Integer.toString(replicasAck))
        .env("CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", "1000")
        .env("CHAT_INSTANCES", "2")
        .env("CHAT_ACK_TIMEOUT_MS", "500")
        .env("CHAT_MAX_REDELIVERIES", "2")
        .env("CHAT_HISTORY_MAX", "10000")
        .env("CHAT_HISTORY_ON_JOIN", Integer.toString(HISTORY_ON_JOIN))
        .env("CHAT_RATE_LIMIT_PER_SEC", "1000")
        .env("CHAT_RATE_LIMIT_BURST", "1000")
        .env("CHAT_NODE_LEASE_MS", "3000")
        .env("CHAT_BROKER_TIMEOUT_MS", "2000")
        .readyTimeout(Duration.ofSeconds(60))
        .start();
  }

  /** Client i in room i % rooms (so every master has clients), starting on node i % nodes. */
  private void startClients() {
    ResumingChatClient.Settings settings =
        ResumingChatClient.Settings.sendingEvery(SEND_EVERY_MS)
            .historyOnJoin(HISTORY_ON_JOIN)
            .expectingDataLoss();
    fleet = ResumingClients.start(settings);
    for (int i = 0; i < CLIENTS; i++) {
      List<Function<String, URI>> endpoints = new ArrayList<>();
      for (int k = 0; k < NODES; k++) {
        ChatNode node = nodes[(i + k) % NODES];
        endpoints.add(node::wsUri);
      }
      fleet.add("u" + i + "-" + run, rooms.get(i % rooms.size()), endpoints);
    }
    clients = fleet.clients();
    fleet.sending(true);
  }

  private Map<String, String> epochs() {
    return fleet.onLoop(
        () ->
            clients.stream()
                .collect(
                    Collectors.toMap(ResumingChatClient::user, c -> String.valueOf(c.epoch()))));
  }

  private Map<String, Ledger.RoomHistory> awaitCaughtUp() throws InterruptedException {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    List<String> behind = List.of();
    while (System.nanoTime() < deadline) {
      Map<String, Ledger.RoomHistory> histories = ClusterRooms.read(redis, rooms);
      behind =
          fleet.onLoop(
              () ->
                  clients.stream()
                      .filter(
                          c -> {
                            Ledger.RoomHistory r = histories.get(c.room());
                            return !c.healthy()
                                || !r.epoch().equals(c.epoch())
                                || c.lastSeq() != r.head();
                          })
                      .map(
                          c -> c.describe() + " (room head " + histories.get(c.room()).head() + ")")
                      .toList());
      if (behind.isEmpty()) {
        return histories;
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        behind.size()
            + " clients not caught up within "
            + RECOVERY
            + ", e.g. "
            + behind.subList(0, Math.min(5, behind.size())));
  }

  private void awaitClients(String what, Predicate<ResumingChatClient> condition) {
    try {
      fleet.awaitAll(what, condition, RECOVERY);
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage()
              + "; closes "
              + fleet.onLoop(() -> Ledger.closeCodes(clients))
              + ", errors "
              + fleet.onLoop(() -> Ledger.errors(clients)),
          e);
    }
  }
}
