package dev.chat.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.Slots;
import dev.chat.testing.ChatNode;
import dev.chat.testing.NetNamespaces;
import dev.chat.testing.NetNamespaces.Host;
import dev.chat.testing.RedisCluster;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.ResumingChatClient;
import dev.chat.testing.ResumingClients;
import dev.chat.testing.TestIds;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The classic Redis Cluster loss, on a real partition: a 3 + 3 cluster whose six nodes each run in
 * a network namespace of their own ({@link NetNamespaces}), two chat nodes in cluster mode, and 36
 * resuming clients in 6 rooms (4 on one master, 2 elsewhere) sending throughout. The master of the
 * 4 rooms is cut off from its replica and the other masters, while the chat nodes still reach it:
 * it keeps acknowledging writes until it notices it lost the majority ({@code
 * --cluster-node-timeout}), its replica is promoted on the other side, and when the link returns it
 * rejoins as a replica and throws away what it took meanwhile.
 *
 * <p>Without replica acks those writes are acked and lost; the promise is that every client of the
 * shard is told (a new epoch through {@code recovered:false}) and nothing goes silently. The ledger
 * checks every ack against the rooms' final history.
 */
@Timeout(180)
@DisplayName(
    "Chat through a Redis Cluster master partitioned from its replica and the other masters")
class PartitionedMasterIT {

  private static final int NODES = 2;
  private static final int VICTIM_ROOMS = 4;
  private static final int OTHER_ROOMS = 2;
  private static final int PER_ROOM = 6;
  private static final int HISTORY_ON_JOIN = 50;
  private static final long SEND_EVERY_MS = 300;
  private static final Duration RECOVERY = Duration.ofSeconds(40);
  private static final Duration TRAFFIC = Duration.ofSeconds(3);

  private final String run = TestIds.random().substring(0, 6);
  private final AtomicIntegerArray ports = new AtomicIntegerArray(NODES);
  private final ChatNode[] nodes = new ChatNode[NODES];
  private NetNamespaces net;
  private RedisCluster cluster;
  private List<String> seeds = List.of();
  private ResumingClients fleet;
  private List<ResumingChatClient> clients = List.of();
  private final List<String> rooms = new ArrayList<>();

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
    if (cluster != null) {
      cluster.close();
    }
    if (net != null) {
      net.close();
    }
  }

  @Test
  @DisplayName(
      "with CHAT_REDIS_REPLICAS_ACK=0 the writes the cut-off master acked are lost, and every client of its shard is told by a new epoch with recovered:false, never silently")
  void withoutReplicaAcksTheLossIsAnnounced() throws Exception {
    Ledger.Report report = partition(0, true);
    assertThat(report.lost()).as("acked messages lost outside the partition").isZero();
    assertThat(report.lostWithEpoch())
        .as("acks the cut-off master gave and the promoted replica never had: the classic loss")
        .isPositive();
  }

  @Test
  @DisplayName(
      "with CHAT_REDIS_REPLICAS_ACK=1 the cut-off master acks nothing its replica lacks: no acked message is lost and none shown twice")
  void replicaAcksSurviveThePartition() throws Exception {
    Ledger.Report report = partition(1, false);
    assertThat(report.lost()).as("acked messages lost").isZero();
    assertThat(report.lostWithEpoch()).as("acked messages allowed to go").isZero();
    assertThat(report.errors())
        .as("sends the cut-off master could not get confirmed were refused, to be retried")
        .containsKey("unavailable");
  }

  private Ledger.Report partition(int replicasAck, boolean lossAllowed) throws Exception {
    long started = System.nanoTime();
    net = NetNamespaces.create();
    cluster = RedisCluster.start(net);
    RedisServer victim = cluster.masterOf(Slots.slot(tagOf("r-" + run + "-probe")));
    pickRooms(victim);
    // The victim first in the seed list: the chat nodes ask it for the topology first, and a
    // master cut off from the majority still names itself the master of its slots after the
    // failover. The nodes must pass over its stale view (its cluster_state is not ok).
    seeds = new ArrayList<>(List.of(victim.uri()));
    cluster.seedUris().stream().filter(u -> !u.equals(victim.uri())).forEach(seeds::add);
    CompletableFuture.allOf(
            CompletableFuture.runAsync(() -> nodes[0] = node(0, replicasAck)),
            CompletableFuture.runAsync(() -> nodes[1] = node(1, replicasAck)))
        .get(60, TimeUnit.SECONDS);
    startClients();
    awaitClients("all clients joined", ResumingChatClient::healthy);
    Thread.sleep(TRAFFIC.toMillis());

    Host victimHost = cluster.hostOf(victim);
    List<Host> others =
        cluster.nodes().stream().filter(n -> n != victim).map(cluster::hostOf).toList();
    Set<String> victimRooms = Set.copyOf(rooms.subList(0, VICTIM_ROOMS));
    Predicate<ResumingChatClient> onVictim = c -> victimRooms.contains(c.room());
    Map<String, String> epochs = epochs();
    long ackedBefore = onLoop(() -> Ledger.sum(clients, ResumingChatClient::ackedCount));

    long cutAt = ResumingChatClient.now();
    net.isolate(victimHost, others);
    cluster.awaitFailedOverFrom(victim);
    long failedOverAt = ResumingChatClient.now();
    // The promoted replica is a new dataset: every room of the shard starts a new epoch, announced.
    Predicate<ResumingChatClient> moved =
        c ->
            c.healthy()
                && (!onVictim.test(c)
                    || (c.epoch() != null && !c.epoch().equals(epochs.get(c.user()))));
    long recoveredAt;
    if (replicasAck == 0) {
      awaitClients("every client of the cut-off shard moved to a new epoch", moved);
      recoveredAt = ResumingChatClient.now();
      Thread.sleep(TRAFFIC.toMillis());
      net.rejoin(victimHost, others);
      cluster.awaitSettled();
    } else {
      // The promoted replica has no replica of its own while the partition lasts (its old master
      // is the one cut off), so no write of the shard can be confirmed: unavailable until the heal.
      Thread.sleep(TRAFFIC.toMillis());
      net.rejoin(victimHost, others);
      cluster.awaitSettled();
      awaitClients("every client of the cut-off shard moved to a new epoch", moved);
      recoveredAt = ResumingChatClient.now();
    }
    assertThat(cluster.masters())
        .as("the cut-off master came back as a replica")
        .doesNotContain(victim);
    Thread.sleep(TRAFFIC.toMillis());
    fleet.sending(false);
    awaitClients("every send acked", ResumingChatClient::allAcked);
    Map<String, Ledger.RoomHistory> histories = awaitCaughtUp();

    // Without replica acks the cut-off master acks writes its replica never gets, from the cut
    // (and for a moment before it: replication is asynchronous) until it stops taking writes,
    // which is before its replica is promoted.
    List<Ledger.Loss> losses =
        lossAllowed
            ? List.of(new Ledger.Loss("partitioned master", cutAt - 1_000, failedOverAt + 1_000))
            : List.of();
    Ledger.Report report = onLoop(() -> new Ledger().verify(histories, clients, losses));
    String summary =
        "partitioned master, replicas ack "
            + replicasAck
            + ": "
            + report.counts()
            + "; failed over "
            + (failedOverAt - cutAt)
            + " ms after the cut, clients in new epochs "
            + (recoveredAt - cutAt)
            + " ms after it; "
            + ((System.nanoTime() - started) / 1_000_000)
            + " ms in all";
    System.out.println(summary);
    report.violations().forEach(v -> System.out.println("  " + v));
    assertThat(report.violations()).as("broken promises").isEmpty();
    assertThat(report.acked()).as("every send acked").isEqualTo(report.sent());
    assertThat(report.acked()).as("acked after the partition").isGreaterThan(ackedBefore);
    assertThat(
            onLoop(
                () ->
                    Ledger.sum(
                        clients.stream().filter(onVictim).toList(), ResumingChatClient::resets)))
        .as("clients of the cut-off shard told of the new epoch")
        .isGreaterThanOrEqualTo(VICTIM_ROOMS * PER_ROOM);
    assertThat(
            onLoop(
                () ->
                    clients.stream()
                        .filter(onVictim.negate())
                        .filter(c -> !c.epoch().equals(epochs.get(c.user())))
                        .map(ResumingChatClient::user)
                        .toList()))
        .as("clients of the other shards, which keep their epoch")
        .isEmpty();
    assertThat(onLoop(() -> Ledger.sum(clients, ResumingChatClient::sameEpochResets)))
        .as("resumes refused within an epoch")
        .isZero();
    return report;
  }

  private static String tagOf(String room) {
    return "chat:{" + room + "}:seq";
  }

  /** {@link #VICTIM_ROOMS} rooms on {@code victim}, then {@link #OTHER_ROOMS} on other masters. */
  private void pickRooms(RedisServer victim) {
    List<String> onVictim = new ArrayList<>();
    List<String> elsewhere = new ArrayList<>();
    for (int i = 0; onVictim.size() < VICTIM_ROOMS || elsewhere.size() < OTHER_ROOMS; i++) {
      String room = "pm-" + run + "-" + i;
      boolean victims = cluster.masterOf(Slots.slot(tagOf(room))) == victim;
      if (victims && onVictim.size() < VICTIM_ROOMS) {
        onVictim.add(room);
      } else if (!victims && elsewhere.size() < OTHER_ROOMS) {
        elsewhere.add(room);
      }
    }
    rooms.addAll(onVictim);
    rooms.addAll(elsewhere);
  }

  private ChatNode node(int i, int replicasAck) {
    ChatNode node =
        ChatNode.builder()
            .name("partition-" + run + "-" + i)
            .env("CHAT_REDIS_MODE", "cluster")
            .env("CHAT_REDIS_URL", String.join(",", seeds))
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
            .start();
    ports.set(i, node.port());
    return node;
  }

  private void startClients() {
    ResumingChatClient.Settings settings =
        ResumingChatClient.Settings.sendingEvery(SEND_EVERY_MS).historyOnJoin(HISTORY_ON_JOIN);
    fleet = ResumingClients.start(settings.expectingDataLoss());
    int i = 0;
    for (String room : rooms) {
      for (int k = 0; k < PER_ROOM; k++, i++) {
        List<Function<String, URI>> endpoints = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
          int node = (i + n) % NODES;
          endpoints.add(
              user -> URI.create("ws://127.0.0.1:" + ports.get(node) + "/ws?user=" + user));
        }
        fleet.add("u" + i + "-" + run, room, endpoints);
      }
    }
    clients = fleet.clients();
    fleet.sending(true);
  }

  private Map<String, String> epochs() {
    return onLoop(
        () ->
            clients.stream()
                .collect(
                    Collectors.toMap(ResumingChatClient::user, c -> String.valueOf(c.epoch()))));
  }

  private Map<String, Ledger.RoomHistory> awaitCaughtUp() throws Exception {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    List<String> behind = List.of();
    while (System.nanoTime() < deadline) {
      Map<String, Ledger.RoomHistory> histories = readRooms();
      behind =
          onLoop(
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
        behind.size() + " clients not caught up within " + RECOVERY + ", e.g. " + behind);
  }

  /** The rooms as the masters of their slots hold them now. */
  private Map<String, Ledger.RoomHistory> readRooms() {
    Map<String, Ledger.RoomHistory> histories = new LinkedHashMap<>();
    for (String room : rooms) {
      try (RespClient resp = cluster.masterOf(Slots.slot(tagOf(room))).client()) {
        String epoch = (String) resp.call("GET", "chat:{" + room + "}:epoch");
        Object seq = resp.call("GET", "chat:{" + room + "}:seq");
        TreeMap<Long, String> messages = new TreeMap<>();
        for (Object entry : (List<?>) resp.call("LRANGE", "chat:{" + room + "}:hist", "0", "-1")) {
          JsonObject m = new JsonObject((String) entry);
          messages.put(m.getLong("seq"), m.getString("from") + "/" + m.getString("id"));
        }
        histories.put(
            room,
            new Ledger.RoomHistory(
                room,
                String.valueOf(epoch),
                seq == null ? 0 : Long.parseLong((String) seq),
                messages));
      }
    }
    return histories;
  }

  private void awaitClients(String what, Predicate<ResumingChatClient> condition) {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    while (System.nanoTime() < deadline) {
      if (onLoop(() -> clients.stream().allMatch(condition))) {
        return;
      }
      pause();
    }
    List<String> state =
        onLoop(
            () ->
                clients.stream()
                    .filter(condition.negate())
                    .map(ResumingChatClient::describe)
                    .limit(5)
                    .toList());
    throw new AssertionError(
        "not within "
            + RECOVERY
            + ": "
            + what
            + "; e.g. "
            + state
            + "; closes "
            + onLoop(() -> Ledger.closeCodes(clients))
            + ", errors "
            + onLoop(() -> Ledger.errors(clients)));
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private <T> T onLoop(Callable<T> task) {
    return fleet.onLoop(task);
  }
}
