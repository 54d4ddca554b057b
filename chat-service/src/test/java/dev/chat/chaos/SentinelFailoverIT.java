package dev.chat.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisSentinels;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.ResumingChatClient;
import dev.chat.testing.ResumingClients;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
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
 * {@code kill -9} of the Sentinel-monitored master under load: two nodes in sentinel mode, 40
 * clients in 4 rooms sending with de-duplication ids and resuming after every fault (the chaos
 * suite's clients and ledger), while the sentinels promote a replica.
 *
 * <p>With {@code CHAT_REDIS_REPLICAS_ACK=1} a message is acked only once a replica holds it, and
 * Sentinel promotes the replica with the most data: no ack may be lost and nothing shown twice.
 * Without it an ack received just before the kill may be gone, and the promise is that every client
 * is told (a new epoch through {@code recovered:false}); a gap inside an epoch is a violation.
 */
@Timeout(180)
@DisplayName("Chat through a kill -9 of the Sentinel master")
class SentinelFailoverIT {

  private static final int NODES = 2;
  private static final int ROOMS = 4;
  private static final int CLIENTS = 40;
  private static final int HISTORY_ON_JOIN = 50;
  private static final long SEND_EVERY_MS = 300;
  private static final Duration RECOVERY = Duration.ofSeconds(30);
  private static final Duration TRAFFIC = Duration.ofSeconds(3);

  private static RedisSentinels sentinels;

  private final String run = UUID.randomUUID().toString().substring(0, 6);
  private final AtomicIntegerArray ports = new AtomicIntegerArray(NODES);
  private final ChatNode[] nodes = new ChatNode[NODES];
  private ResumingClients fleet;
  private List<ResumingChatClient> clients = List.of();

  @BeforeAll
  static void startSentinels() {
    sentinels = RedisSentinels.start();
  }

  @AfterAll
  static void stopSentinels() {
    if (sentinels != null) {
      sentinels.close();
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
      "with CHAT_REDIS_REPLICAS_ACK=1 no acked message is lost and none shown twice through the failover")
  void replicaAcksSurviveTheFailover() throws Exception {
    Ledger.Report report = failover(1, false);
    assertThat(report.lost()).as("acked messages lost").isZero();
    assertThat(report.lostWithEpoch()).as("acked messages allowed to go").isZero();
  }

  @Test
  @DisplayName(
      "with CHAT_REDIS_REPLICAS_ACK=0 every client is moved to a new epoch with recovered:false, no gap is silent")
  void withoutReplicaAcksTheLossIsAnnounced() throws Exception {
    Ledger.Report report = failover(0, true);
    assertThat(report.lost()).as("acked messages lost outside the failover").isZero();
  }

  private Ledger.Report failover(int replicasAck, boolean lossAllowed) throws Exception {
    long started = System.nanoTime();
    CompletableFuture.allOf(
            CompletableFuture.runAsync(() -> nodes[0] = node(0, replicasAck)),
            CompletableFuture.runAsync(() -> nodes[1] = node(1, replicasAck)))
        .get(60, TimeUnit.SECONDS);
    startClients();
    awaitClients("all clients joined", ResumingChatClient::healthy);
    Thread.sleep(TRAFFIC.toMillis());

    Map<String, String> epochs = epochs();
    long ackedBefore = onLoop(() -> (long) Ledger.sum(clients, ResumingChatClient::ackedCount));
    long killedAt = ResumingChatClient.now();
    RedisServer killed = sentinels.killMaster();
    long failedOverMs = ResumingChatClient.now() - killedAt;
    // A promotion is a new dataset (master_replid): every room starts a new epoch, announced.
    awaitClients(
        "every client moved to a new epoch",
        c -> c.healthy() && c.epoch() != null && !c.epoch().equals(epochs.get(c.user())));
    long recoveredMs = ResumingChatClient.now() - killedAt;
    Thread.sleep(TRAFFIC.toMillis());
    fleet.sending(false);
    awaitClients("every send acked", ResumingChatClient::allAcked);
    Map<String, Ledger.RoomHistory> rooms = awaitCaughtUp();

    // Without replica acks, what the master acked in its last moments may not have reached the
    // promoted replica: acks up to the kill (and those in flight at it) may be missing.
    List<Ledger.Loss> losses =
        lossAllowed
            ? List.of(new Ledger.Loss("failover", killedAt - 2_000, killedAt + 1_000))
            : List.of();
    Ledger.Report report = onLoop(() -> new Ledger().verify(rooms, clients, losses));
    String summary =
        "sentinel failover, replicas ack "
            + replicasAck
            + ": "
            + report.counts()
            + "; sentinels failed over in "
            + failedOverMs
            + " ms, clients in new epochs "
            + recoveredMs
            + " ms after the kill; "
            + ((System.nanoTime() - started) / 1_000_000)
            + " ms in all";
    System.out.println(summary);
    report.violations().forEach(v -> System.out.println("  " + v));
    assertThat(report.violations()).as("broken promises").isEmpty();
    assertThat(report.acked()).as("every send acked").isEqualTo(report.sent());
    assertThat(report.acked()).as("acked after the failover").isGreaterThan(ackedBefore);
    assertThat(report.resets()).as("clients told of the new epoch").isGreaterThanOrEqualTo(CLIENTS);
    assertThat(onLoop(() -> Ledger.sum(clients, ResumingChatClient::sameEpochResets)))
        .as("resumes refused within an epoch")
        .isZero();
    sentinels.restart(killed);
    return report;
  }

  private ChatNode node(int i, int replicasAck) {
    ChatNode node =
        ChatNode.builder()
            .name("sentinel-" + run + "-" + i)
            .env("CHAT_REDIS_MODE", "sentinel")
            .env("CHAT_REDIS_URL", String.join(",", sentinels.sentinelUris()))
            .env("CHAT_REDIS_SENTINEL_MASTER", RedisSentinels.MASTER_NAME)
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
    for (int i = 0; i < CLIENTS; i++) {
      List<Function<String, URI>> endpoints = new ArrayList<>();
      for (int k = 0; k < NODES; k++) {
        int node = (i + k) % NODES;
        endpoints.add(user -> URI.create("ws://127.0.0.1:" + ports.get(node) + "/ws?user=" + user));
      }
      fleet.add("u" + i + "-" + run, "sentinel-" + run + "-" + (i % ROOMS), endpoints);
    }
    clients = fleet.clients();
    fleet.sending(true);
  }

  private Map<String, String> epochs() throws Exception {
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
      Map<String, Ledger.RoomHistory> rooms = readRooms();
      behind =
          onLoop(
              () ->
                  clients.stream()
                      .filter(
                          c -> {
                            Ledger.RoomHistory r = rooms.get(c.room());
                            return !c.healthy()
                                || !r.epoch().equals(c.epoch())
                                || c.lastSeq() != r.head();
                          })
                      .map(c -> c.describe() + " (room head " + rooms.get(c.room()).head() + ")")
                      .toList());
      if (behind.isEmpty()) {
        return rooms;
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        behind.size() + " clients not caught up within " + RECOVERY + ", e.g. " + behind);
  }

  /** The rooms as the current master holds them. */
  private Map<String, Ledger.RoomHistory> readRooms() {
    Map<String, Ledger.RoomHistory> rooms = new LinkedHashMap<>();
    try (RespClient resp = sentinels.master().client()) {
      for (int i = 0; i < ROOMS; i++) {
        String room = "sentinel-" + run + "-" + i;
        String epoch = (String) resp.call("GET", "chat:{" + room + "}:epoch");
        Object seq = resp.call("GET", "chat:{" + room + "}:seq");
        TreeMap<Long, String> messages = new TreeMap<>();
        for (Object entry : (List<?>) resp.call("LRANGE", "chat:{" + room + "}:hist", "0", "-1")) {
          JsonObject m = new JsonObject((String) entry);
          messages.put(m.getLong("seq"), m.getString("from") + "/" + m.getString("id"));
        }
        rooms.put(
            room,
            new Ledger.RoomHistory(
                room,
                String.valueOf(epoch),
                seq == null ? 0 : Long.parseLong((String) seq),
                messages));
      }
    }
    return rooms;
  }

  private void awaitClients(String what, Predicate<ResumingChatClient> condition) throws Exception {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    while (System.nanoTime() < deadline) {
      if (onLoop(() -> clients.stream().allMatch(condition))) {
        return;
      }
      Thread.sleep(100);
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

  private <T> T onLoop(Callable<T> task) {
    return fleet.onLoop(task);
  }
}
