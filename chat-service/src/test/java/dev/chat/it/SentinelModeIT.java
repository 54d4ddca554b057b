package dev.chat.it;

import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.RedisSentinels;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.TestIds;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Two nodes in {@code CHAT_REDIS_MODE=sentinel} with {@code CHAT_REDIS_REPLICAS_ACK=1} against real
 * sentinels (1 master, 2 replicas, 3 sentinels): replicas that do not confirm in time, and a master
 * demoted under the nodes without its clients being killed. The demotion rewires the deployment, so
 * it runs last.
 */
@Timeout(120)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@DisplayName("Nodes in sentinel mode with replica acks")
class SentinelModeIT {

  private static final long WAIT_TIMEOUT_MS = 300;
  private static final int SLEEP_SECONDS = 2;
  private static RedisSentinels sentinels;
  private static ChatNode a;
  private static ChatNode b;
  private final List<ChatPeer> peers = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    sentinels = RedisSentinels.start();
    CompletableFuture<ChatNode> first = CompletableFuture.supplyAsync(() -> node("a"));
    CompletableFuture<ChatNode> second = CompletableFuture.supplyAsync(() -> node("b"));
    a = first.get(60, TimeUnit.SECONDS);
    b = second.get(60, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    for (ChatNode n : new ChatNode[] {a, b}) {
      if (n != null) {
        n.close();
      }
    }
    if (sentinels != null) {
      sentinels.close();
    }
  }

  @BeforeEach
  void noPeers() {
    peers.clear();
  }

  @AfterEach
  void closePeers() {
    peers.forEach(ChatPeer::close);
  }

  private static ChatNode node(String name) {
    return ChatNode.builder()
        .name("sentinel-mode-" + name + "-" + TestIds.random())
        .env("CHAT_REDIS_MODE", "sentinel")
        .env("CHAT_REDIS_URL", String.join(",", sentinels.sentinelUris()))
        .env("CHAT_REDIS_REPLICAS_ACK", "1")
        .env("CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", Long.toString(WAIT_TIMEOUT_MS))
        .env("CHAT_BROKER_TIMEOUT_MS", "2000")
        .env("CHAT_ACK_TIMEOUT_MS", "30000")
        .start();
  }

  private ChatPeer connect(ChatNode node, String user) {
    ChatPeer p = ChatPeer.connect(node, user, true);
    peers.add(p);
    return p;
  }

  @Test
  @Order(1)
  @DisplayName(
      "a send and a dm that no replica confirms in time get unavailable; their retries with the same id get one ack each and are shown once")
  void unconfirmedSendsAreUnavailableThenAckedOnce() throws Exception {
    String room = room();
    ChatPeer alice = connect(a, user("alice"));
    ChatPeer bob = connect(b, user("bob"));
    alice.join(room);
    bob.join(room);

    String id = "m-" + TestIds.random();
    JsonObject refused = withReplicasAsleep(() -> alice.say(room, id, "hello"));
    assertThat(refused.getString("type")).isEqualTo("error");
    assertThat(refused.getString("code")).isEqualTo("unavailable");
    assertThat(refused.getBoolean("retryable")).isTrue();

    JsonObject ack = alice.say(room, id, "hello");
    assertThat(ack.getString("type")).as("the retry's answer: %s", ack).isEqualTo("ack");
    JsonObject again = alice.say(room, id, "hello");
    assertThat(again.getLong("seq")).as("a second retry's ack").isEqualTo(ack.getLong("seq"));
    assertThat(historyIds(room)).as("stored once").containsOnlyOnce(id);
    bob.settle(Duration.ofMillis(500));
    assertThat(bob.messages(room).stream().filter(m -> id.equals(m.getString("id"))))
        .as("shown to bob")
        .hasSize(1);

    String dmId = "d-" + TestIds.random();
    JsonObject dmRefused = withReplicasAsleep(() -> alice.dm(bob.user(), dmId, "psst"));
    assertThat(dmRefused.getString("code")).isEqualTo("unavailable");
    JsonObject dmAck = alice.dm(bob.user(), dmId, "psst");
    assertThat(dmAck.getString("type")).as("the dm retry's answer: %s", dmAck).isEqualTo("ack");
    assertThat(alice.dm(bob.user(), dmId, "psst").getLong("seq"))
        .as("a second dm retry's ack")
        .isEqualTo(dmAck.getLong("seq"));
  }

  @Test
  @Order(2)
  @DisplayName(
      "nodes connected to a master demoted with REPLICAOF (no CLIENT KILL) leave it for the master the sentinels name")
  void leaveADemotedMaster() throws Exception {
    String room = room();
    ChatPeer alice = connect(a, user("alice"));
    ChatPeer bob = connect(b, user("bob"));
    alice.join(room);
    bob.join(room);
    assertThat(alice.say(room, "before", "x").getString("type")).isEqualTo("ack");

    RedisServer old = sentinels.master();
    List<RedisServer> replicas = sentinels.dataNodes().stream().filter(n -> n != old).toList();
    RedisServer promoted = replicas.get(0);
    assertThat(chatClients(old)).as("node connections on the master").isPositive();

    // The sentinels stop watching while the deployment is rewired by hand, then watch the new one.
    for (RedisServer s : sentinels.sentinels()) {
      call(s, "SENTINEL", "REMOVE", RedisSentinels.MASTER_NAME);
    }
    call(promoted, "REPLICAOF", "NO", "ONE");
    for (RedisServer n : List.of(old, replicas.get(1))) {
      call(n, "REPLICAOF", "127.0.0.1", Integer.toString(promoted.port()));
    }
    for (RedisServer s : sentinels.sentinels()) {
      call(
          s,
          "SENTINEL",
          "MONITOR",
          RedisSentinels.MASTER_NAME,
          "127.0.0.1",
          Integer.toString(promoted.port()),
          "2");
    }
    assertThat(RedisSentinels.role(old)).isEqualTo("slave");

    // Until the nodes move, a send gets unavailable (READONLY) and is retried with its id.
    String id = "after-" + TestIds.random();
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    JsonObject answer = alice.say(room, id, "y");
    while (!"ack".equals(answer.getString("type")) && System.nanoTime() < deadline) {
      assertThat(answer.getString("code")).as("answer %s", answer).isEqualTo("unavailable");
      Thread.sleep(200);
      answer = alice.say(room, id, "y");
    }
    assertThat(answer.getString("type")).as("answer %s", answer).isEqualTo("ack");
    assertThat(historyIds(promoted, room)).containsOnlyOnce(id);
    bob.claim(
        f -> "message".equals(f.getString("type")) && id.equals(f.getString("id")),
        "the message sent after the demotion");
    while (chatClients(old) > 0 && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(chatClients(old)).as("node connections left on the demoted node").isZero();
  }

  /** Runs {@code send} while both replicas sleep ({@code DEBUG SLEEP}), so none confirms. */
  private static JsonObject withReplicasAsleep(java.util.concurrent.Callable<JsonObject> send)
      throws Exception {
    RedisServer master = sentinels.master();
    List<CompletableFuture<Object>> asleep = new ArrayList<>();
    for (RedisServer replica : sentinels.dataNodes()) {
      if (replica != master) {
        asleep.add(
            CompletableFuture.supplyAsync(
                () -> call(replica, "DEBUG", "SLEEP", Integer.toString(SLEEP_SECONDS)),
                // a thread each: the common pool may run one task at a time on 2 cores, and
                // the second replica would sleep only after the first woke
                task -> new Thread(task, "debug-sleep-" + replica.port()).start()));
      }
    }
    // DEBUG SLEEP has no reply until it ends: give the two commands a moment to arrive. Were they
    // late, the send would be acked and the test fail, not pass.
    Thread.sleep(200);
    try {
      return send.call();
    } finally {
      CompletableFuture.allOf(asleep.toArray(CompletableFuture[]::new))
          .get(SLEEP_SECONDS + 10, TimeUnit.SECONDS);
    }
  }

  private static Object call(RedisServer node, String... args) {
    try (RespClient c = node.client()) {
      return c.call(args);
    }
  }

  private static List<String> historyIds(String room) {
    return historyIds(sentinels.master(), room);
  }

  private static List<String> historyIds(RedisServer node, String room) {
    List<String> ids = new ArrayList<>();
    for (Object entry : (List<?>) call(node, "LRANGE", "chat:{" + room + "}:hist", "0", "-1")) {
      ids.add(new JsonObject((String) entry).getString("id"));
    }
    return ids;
  }

  /** Clients of {@code node} other than the sentinels' and this call's own. */
  private static long chatClients(RedisServer node) {
    String list = (String) call(node, "CLIENT", "LIST");
    return Arrays.stream(list.split("\n"))
        .filter(l -> !l.isBlank())
        .filter(l -> !l.contains(" name=sentinel-"))
        .filter(l -> !l.contains(" cmd=client|list"))
        .filter(l -> !l.contains(" flags=M") && !l.contains(" flags=S"))
        .count();
  }
}
