package dev.chat.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
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
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The chaos suite: three nodes and Redis on loopback, 200 clients in 20 rooms sending with
 * de-duplication ids, acking and resuming with {@code since} after every disconnect, while the
 * suite kills the subscriber connections, loses Redis's data, SIGKILLs a node, SIGTERMs a node and
 * stalls some consumers. Afterwards every promise the service made is checked (see {@link
 * Ledger#verify}) and the counts are printed.
 *
 * <p>The clients connect to the nodes directly and move to the next node when theirs fails, as a
 * load balancer would move them.
 *
 * <p>Redis loses acknowledged writes twice, and the guarantee there is that the loss is announced,
 * never silent. First it restarts empty (no snapshot yet): every room's history is gone. Later it
 * restarts from an older snapshot ({@code SAVE}, more acked traffic, {@code kill -9}, a restart
 * that loads the snapshot): the messages acked after the {@code SAVE} are gone, the rest survive.
 * After each, every client must be moved to a new epoch by a {@code joined} with {@code
 * recovered:false} (never a reset within its old epoch, never {@code recovered:true} across it);
 * acks received inside a fault's window (from its snapshot to just after its kill) may then be
 * missing and are counted as lost with Redis's data, every other ack must be in the final history
 * at its seq, all clients must agree on what each seq of each epoch carried (a seq reused within an
 * epoch breaks that), and a send retried after the fault lands once. The rollback must really have
 * lost acked messages, or the step tested nothing.
 */
@Timeout(240)
class ChaosIT {

  private static final int NODES = 3;
  private static final int ROOMS = 20;
  private static final int CLIENTS = 200;
  private static final int HISTORY_ON_JOIN = 50;
  private static final long SEND_EVERY_MS = 1_500;
  private static final int SLOW_CONSUMERS = 10;
  private static final Duration RECOVERY = Duration.ofSeconds(30);
  private static final Duration TRAFFIC = Duration.ofSeconds(3);
  private static final Duration REDIS_OUTAGE = Duration.ofSeconds(2);
  private static final Duration STALL = Duration.ofSeconds(8);

  /** Allowed closes: node killed (1006), node draining (1012), stalled consumer (4000, 4001). */
  private static final Set<Integer> EXPECTED_CLOSES = Set.of(1006, 1012, 4000, 4001);

  /**
   * Three nodes on a Redis that saves only when the suite says so: until the first SAVE a restart
   * comes back empty. A killed or drained node is {@link ChatCluster#replace replaced} by one on a
   * new port, as a new pod would be.
   */
  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("chaos")
          .perTest()
          .snapshots()
          .nodes(NODES)
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
          // SIGTERM spreads the drain's 1012 closes over 2 s
          .env("CHAT_DRAIN_MS", "2000")
          .build();

  private final String run = TestIds.random();
  private ResumingClients fleet;
  private List<ResumingChatClient> clients;

  @Test
  @DisplayName(
      "under node kills, a drain, Redis data loss, a Redis rollback to an older snapshot, subscriber loss and stalled consumers, no acked message is lost silently or duplicated")
  void noAckedMessageIsLost() throws Exception {
    long started = System.nanoTime();
    RedisServer redis = cluster.redis();
    List<Ledger.Loss> losses = new ArrayList<>();
    startClients();
    awaitClients("all clients joined", ResumingChatClient::healthy);
    traffic();

    step("subscriber connections killed");
    killSubscribers();
    traffic();

    step("Redis killed and restarted empty");
    // Acks still in flight when Redis dies arrive within a second; the new Redis is down longer.
    losses.add(new Ledger.Loss("restarted empty", 0, ResumingChatClient.now() + 1_000));
    Map<String, String> epochs = epochs();
    redis.kill();
    Thread.sleep(REDIS_OUTAGE.toMillis()); // the outage itself: nodes must ride it out
    redis.restart();
    awaitNewEpochs(epochs);
    traffic();

    step("Redis restarts from an older snapshot");
    long savedAt = ResumingChatClient.now();
    redis.save();
    traffic(); // acknowledged, then lost with the rollback
    losses.add(
        new Ledger.Loss("rolled back to a snapshot", savedAt, ResumingChatClient.now() + 1_000));
    epochs = epochs();
    redis.kill();
    Thread.sleep(REDIS_OUTAGE.toMillis());
    redis.restart();
    awaitNewEpochs(epochs);
    traffic();

    step("node 0 killed with SIGKILL");
    cluster.node(0).kill();
    awaitClients("clients moved off the killed node", ResumingChatClient::healthy);
    cluster.replace(0);
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
    killSubscribers();
    traffic();

    step("quiescing");
    fleet.sending(false);
    awaitClients("every send acked", ResumingChatClient::allAcked);
    Map<String, Ledger.RoomHistory> rooms = awaitCaughtUp();

    Ledger.Report report = fleet.onLoop(() -> new Ledger().verify(rooms, clients, losses));
    long tookMs = (System.nanoTime() - started) / 1_000_000;
    String summary = "chaos: " + report.counts() + " in " + tookMs + " ms";
    System.out.println(summary);
    System.err.println(summary);
    report.violations().forEach(v -> System.out.println("  " + v));

    assertThat(report.violations()).as("broken promises").isEmpty();
    assertThat(report.lost()).as("acked messages lost").isZero();
    assertThat(report.acked()).as("every send acked").isEqualTo(report.sent());
    assertThat(report.closeCodes().keySet()).as("close codes seen").isSubsetOf(EXPECTED_CLOSES);
    assertThat(report.closeCodes())
        .as("kills, drain and stalls closed sockets")
        .containsKeys(1006, 1012);
    assertThat(report.resets())
        .as("rooms reset by the data loss and the rollback")
        .isGreaterThanOrEqualTo(2L * CLIENTS);
    assertThat(report.lostByFault().getOrDefault("rolled back to a snapshot", 0L))
        .as("acked messages the rollback took (announced by the new epoch)")
        .isPositive();
    assertThat(fleet.onLoop(() -> Ledger.sum(clients, ResumingChatClient::sameEpochResets)))
        .as("resumes refused within an epoch")
        .isZero();
    assertThat(report.delivered()).as("deliveries").isGreaterThan(report.acked());
  }

  /**
   * 200 clients in 20 rooms, each starting on node {@code i % 3} and moving to the next node when
   * theirs fails, as a load balancer would move them.
   */
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
      fleet.add("u" + i + "-" + run, "chaos-" + run + "-" + (i % ROOMS), endpoints);
    }
    clients = fleet.clients();
    fleet.sending(true);
  }

  private static void killSubscribers() {
    try (RespClient resp = cluster.redis().client()) {
      Object killed = resp.call("CLIENT", "KILL", "TYPE", "pubsub");
      assertThat((Long) killed).as("subscriber connections killed").isPositive();
    }
  }

  /** Each client's epoch now, by user. */
  private Map<String, String> epochs() {
    return fleet.onLoop(
        () ->
            clients.stream()
                .collect(
                    Collectors.toMap(ResumingChatClient::user, c -> String.valueOf(c.epoch()))));
  }

  /**
   * Every client moves on from the epoch it had {@code before} the fault: the service told it with
   * a joined, recovered:false.
   */
  private void awaitNewEpochs(Map<String, String> before) {
    awaitClients(
        "every client moved to a new epoch",
        c -> c.healthy() && c.epoch() != null && !c.epoch().equals(before.get(c.user())));
  }

  private boolean stalledClosed(Map<Integer, Integer> before) {
    Map<Integer, Integer> now = Ledger.closeCodes(clients);
    int stalls = 0;
    for (int code : List.of(4000, 4001)) {
      stalls += now.getOrDefault(code, 0) - before.getOrDefault(code, 0);
    }
    return stalls >= SLOW_CONSUMERS;
  }

  /**
   * Waits until every client is caught up with its room's head in Redis; returns the rooms' state.
   */
  private Map<String, Ledger.RoomHistory> awaitCaughtUp() throws InterruptedException {
    long deadline = System.nanoTime() + RECOVERY.toNanos();
    List<String> behind = List.of();
    while (System.nanoTime() < deadline) {
      Map<String, Ledger.RoomHistory> rooms = readRooms();
      behind =
          fleet.onLoop(
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
        behind.size()
            + " clients not caught up within "
            + RECOVERY
            + ", e.g. "
            + behind.subList(0, Math.min(5, behind.size())));
  }

  private Map<String, Ledger.RoomHistory> readRooms() {
    Map<String, Ledger.RoomHistory> rooms = new LinkedHashMap<>();
    try (RespClient resp = cluster.redis().client()) {
      for (int i = 0; i < ROOMS; i++) {
        String room = "chaos-" + run + "-" + i;
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

  /** Lets messages flow between faults; the faults, not this pause, are what is tested. */
  private static void traffic() throws InterruptedException {
    Thread.sleep(TRAFFIC.toMillis());
  }

  private void step(String what) {
    System.out.println(
        "chaos step: "
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

  /** The closes and errors the clients saw so far, for a failure message. */
  private String state() {
    return "; closes "
        + fleet.onLoop(() -> Ledger.closeCodes(clients))
        + ", errors "
        + fleet.onLoop(() -> Ledger.errors(clients));
  }
}
