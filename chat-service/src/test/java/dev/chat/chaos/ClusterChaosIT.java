package dev.chat.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.RedisCluster;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.ResumingChatClient;
import dev.chat.testing.ResumingClients;
import dev.chat.testing.TestIds;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The chaos suite on a Redis Cluster: three nodes in {@code CHAT_REDIS_MODE=cluster} with {@code
 * CHAT_REDIS_REPLICAS_ACK=1} on a 3+3 cluster ({@link ChatCluster.Builder#redisCluster}), 150
 * clients in 15 rooms (five on each master) sending with de-duplication ids, acking and resuming
 * with {@code since} after every disconnect, while the suite kills the subscriber connections on
 * every master, fails one master over with {@code CLUSTER FAILOVER}, kills another with {@code kill
 * -9} and brings it back as a replica, SIGKILLs a node, SIGTERMs a node and stalls some consumers.
 * Then the {@link Ledger} checks every promise: with replica acks no acked message may be lost and
 * none shown twice, and the rooms of a failed-over shard move their clients to a new epoch
 * (announced with {@code recovered:false}, never a reset within one).
 *
 * <p>{@link ChaosIT}'s steps that lose Redis's data on purpose (a restart empty, a rollback to a
 * snapshot) are not here: a cluster master that loses its data is a failover, which this suite
 * runs, and with replica acks it loses nothing.
 */
@Timeout(300)
class ClusterChaosIT {

  private static final int NODES = 3;
  private static final int ROOMS_PER_MASTER = 5;
  private static final int CLIENTS = 150;
  private static final int HISTORY_ON_JOIN = 50;
  private static final long SEND_EVERY_MS = 1_500;
  private static final int SLOW_CONSUMERS = 10;
  private static final Duration RECOVERY = Duration.ofSeconds(30);
  private static final Duration TRAFFIC = Duration.ofSeconds(3);
  private static final Duration STALL = Duration.ofSeconds(8);

  /** Allowed closes: node killed (1006), node draining (1012), stalled consumer (4000, 4001). */
  private static final Set<Integer> EXPECTED_CLOSES = Set.of(1006, 1012, 4000, 4001);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("cluster-chaos")
          .perTest()
          .redisCluster()
          .nodes(NODES)
          .env("CHAT_REDIS_REPLICAS_ACK", "1")
          .env("CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", "1000")
          .env("CHAT_INSTANCES", "2")
          .env("CHAT_HEARTBEAT_INTERVAL_MS", "1000")
          .env("CHAT_HEARTBEAT_TIMEOUT_MS", "4000")
          .env("CHAT_ACK_TIMEOUT_MS", "500")
          .env("CHAT_MAX_REDELIVERIES", "2")
          .env("CHAT_HISTORY_MAX", "10000")
          .env("CHAT_HISTORY_ON_JOIN", Integer.toString(HISTORY_ON_JOIN))
          .env("CHAT_RATE_LIMIT_PER_SEC", "1000")
          .env("CHAT_RATE_LIMIT_BURST", "1000")
          .env("CHAT_NODE_LEASE_MS", "2000")
          .env("CHAT_BROKER_TIMEOUT_MS", "2000")
          .env("CHAT_DRAIN_MS", "2000")
          .build();

  private final String run = TestIds.random();
  private ResumingClients fleet;
  private List<ResumingChatClient> clients;
  private List<String> rooms;

  @Test
  @DisplayName(
      "with CHAT_REDIS_REPLICAS_ACK=1, under node kills, a drain, subscriber loss, stalled consumers, a CLUSTER FAILOVER and a kill -9 of a master, no acked message is lost or shown twice")
  void noAckedMessageIsLost() throws Exception {
    long started = System.nanoTime();
    RedisCluster redis = cluster.redisCluster();
    rooms = ClusterRooms.onEveryMaster(redis, "cchaos-" + run, ROOMS_PER_MASTER);
    startClients();
    awaitClients("all clients joined", ResumingChatClient::healthy);
    traffic();

    step("subscriber connections killed on every master");
    killSubscribers(redis);
    traffic();

    step("CLUSTER FAILOVER of the first room's master");
    failedOver(redis, rooms.get(0), () -> redis.failover(redis.replicaOf(slot(redis, 0))));
    traffic();

    step("node 0 killed with SIGKILL");
    cluster.node(0).kill();
    awaitClients("clients moved off the killed node", ResumingChatClient::healthy);
    cluster.replace(0);
    traffic();

    step("kill -9 of the second room's master, back as a replica");
    RedisServer victim = redis.masterOf(slot(redis, 1));
    failedOver(
        redis,
        rooms.get(1),
        () -> {
          redis.kill(victim);
          redis.restart(victim);
        });
    traffic();

    step("node 1 drained with SIGTERM");
    cluster.node(1).terminate();
    cluster.node(1).waitForExit(Duration.ofSeconds(20));
    awaitClients("clients moved off the drained node", ResumingChatClient::healthy);
    cluster.replace(1);
    traffic();
    step("slow consumers stop reading");
    List<ResumingChatClient> slow = new ArrayList<>();
    for (int i = 0; i < SLOW_CONSUMERS; i++) {
      // one in each of SLOW_CONSUMERS rooms, so the others there keep sending to them
      slow.add(clients.get(i * (CLIENTS / SLOW_CONSUMERS) + i));
    }
    fleet.onLoop(
        () -> {
          slow.forEach(ResumingChatClient::pause);
          return null;
        });
    Map<Integer, Integer> closesBefore = fleet.onLoop(() -> Ledger.closeCodes(clients));
    // The stall itself: longer than the heartbeat timeout, so the service must give up on them.
    Thread.sleep(STALL.toMillis());
    fleet.onLoop(
        () -> {
          slow.forEach(ResumingChatClient::resume);
          return null;
        });
    // Reading again, each finds the service's close (4000 or 4001) behind what was buffered.
    if (!fleet.await(() -> stalledClosed(closesBefore), RECOVERY)) {
      throw new AssertionError(
          "not within "
              + RECOVERY
              + ": the service closed every stalled consumer; "
              + fleet.onLoop(() -> slow.stream().map(ResumingChatClient::describe).toList())
              + state());
    }
    awaitClients("stalled consumers resumed", ResumingChatClient::healthy);
    traffic();

    step("subscriber connections killed again");
    killSubscribers(redis);
    traffic();

    step("quiescing");
    fleet.sending(false);
    awaitClients("every send acked", ResumingChatClient::allAcked);
    Map<String, Ledger.RoomHistory> histories = awaitCaughtUp(redis);

    Ledger.Report report = fleet.onLoop(() -> new Ledger().verify(histories, clients, List.of()));
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    String summary = "cluster chaos: " + report.counts() + " in " + tookMs + " ms";
    System.out.println(summary);
    System.err.println(summary);
    report.violations().forEach(v -> System.out.println("  " + v));

    assertThat(report.violations()).as("broken promises").isEmpty();
    assertThat(report.lost()).as("acked messages lost").isZero();
    assertThat(report.lostWithEpoch()).as("acked messages allowed to go").isZero();
    assertThat(report.acked()).as("every send acked").isEqualTo(report.sent());
    assertThat(report.closeCodes().keySet()).as("close codes seen").isSubsetOf(EXPECTED_CLOSES);
    assertThat(report.closeCodes())
        .as("kills, drain and stalls closed sockets")
        .containsKeys(1006, 1012);
    assertThat(fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::sameEpochResets)))
        .as("resumes refused within an epoch")
        .isZero();
    assertThat(report.delivered()).as("deliveries").isGreaterThan(report.acked());
  }

  private int slot(RedisCluster redis, int room) {
    return ClusterRooms.slot(redis, rooms.get(room));
  }

  /**
   * Runs {@code fault} on the shard of {@code room}, then waits until the clients of that shard's
   * rooms are in a new epoch (a new master is a new dataset identity) and the others in theirs.
   */
  private void failedOver(RedisCluster redis, String room, Runnable fault) {
    RedisServer master = ClusterRooms.masterOf(redis, room);
    Set<String> affected =
        rooms.stream()
            .filter(r -> ClusterRooms.masterOf(redis, r) == master)
            .collect(Collectors.toSet());
    Map<String, String> before = epochs();
    long resetsBefore = fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::resets));
    fault.run();
    awaitClients(
        "the clients of " + affected + " moved to a new epoch, the others not",
        c ->
            c.healthy()
                && c.epoch() != null
                && affected.contains(c.room()) != c.epoch().equals(before.get(c.user())));
    long moved =
        fleet.onLoop(() -> clients.stream().filter(c -> affected.contains(c.room())).count());
    assertThat(fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::resets)) - resetsBefore)
        .as("clients told of the new epoch with recovered:false")
        .isGreaterThanOrEqualTo(moved);
  }

  /** Client i in room i % rooms, starting on node i % 3 and moving to the next when it fails. */
  private void startClients() {
    fleet =
        cluster.track(
            ResumingClients.start(
                ResumingChatClient.Settings.sendingEvery(SEND_EVERY_MS)
                    .resendAfterMs(3_000)
                    .historyOnJoin(HISTORY_ON_JOIN)
                    .expectingDataLoss()));
    for (int i = 0; i < CLIENTS; i++) {
      List<Function<String, URI>> endpoints = new ArrayList<>();
      for (int k = 0; k < NODES; k++) {
        int node = (i + k) % NODES;
        endpoints.add(user -> cluster.node(node).wsUri(user));
      }
      fleet.add("u" + i + "-" + run, rooms.get(i % rooms.size()), endpoints);
    }
    clients = fleet.clients();
    fleet.sending(true);
  }

  private static void killSubscribers(RedisCluster redis) {
    long killed = 0;
    for (RedisServer master : redis.masters()) {
      try (RespClient resp = master.client()) {
        killed += (Long) resp.call("CLIENT", "KILL", "TYPE", "pubsub");
      }
    }
    assertThat(killed).as("subscriber connections killed").isPositive();
  }

  private Map<String, String> epochs() {
    return fleet.onLoop(
        () ->
            clients.stream()
                .collect(
                    Collectors.toMap(ResumingChatClient::user, c -> String.valueOf(c.epoch()))));
  }

  private boolean stalledClosed(Map<Integer, Integer> before) {
    Map<Integer, Integer> now = Ledger.closeCodes(clients);
    int stalls = 0;
    for (int code : List.of(4000, 4001)) {
      stalls += now.getOrDefault(code, 0) - before.getOrDefault(code, 0);
    }
    return stalls >= SLOW_CONSUMERS;
  }

  private Map<String, Ledger.RoomHistory> awaitCaughtUp(RedisCluster redis)
      throws InterruptedException {
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

  /** Lets messages flow between faults; the faults, not this pause, are what is tested. */
  private static void traffic() throws InterruptedException {
    Thread.sleep(TRAFFIC.toMillis());
  }

  private void step(String what) {
    System.out.println(
        "cluster chaos step: "
            + what
            + " (closes so far "
            + fleet.onLoop(() -> Ledger.closeCodes(clients))
            + ", acked "
            + fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::ackedCount))
            + ")");
  }

  private void awaitClients(String what, Predicate<ResumingChatClient> condition) {
    try {
      fleet.awaitAll(what, condition, RECOVERY);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + state(), e);
    }
  }

  private String state() {
    return "; closes "
        + fleet.onLoop(() -> Ledger.closeCodes(clients))
        + ", errors "
        + fleet.onLoop(() -> Ledger.errors(clients));
  }
}
