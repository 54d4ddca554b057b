package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.RedisCluster;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.TestIds;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code CHAT_REDIS_REPLICAS_ACK=1} in cluster mode, where only a {@code WAIT} on the right
 * connection can tell: two nodes on a 3+3 cluster, and the one replica of a room's master put to
 * sleep ({@code DEBUG SLEEP}, shorter than the cluster node timeout) while a message is sent. A
 * {@code WAIT} sent to another master, or on a connection that did not take the write, would be
 * confirmed by an awake replica at once, and the send acked.
 */
@Timeout(120)
@DisplayName("Nodes in Redis Cluster mode with replica acks")
class ClusterReplicaAckIT {

  private static final long WAIT_TIMEOUT_MS = 300;
  // Below --cluster-node-timeout (2 s): a sleeping replica must not be taken for failed.
  private static final String SLEEP_SECONDS = "1.5";

  private static RedisCluster redis;
  private static ChatNode a;
  private static ChatNode b;
  private final List<ChatPeer> peers = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    redis = RedisCluster.start();
    // A replica still loading its first copy confirms nothing: the first WAIT would time out.
    redis.awaitReplicasLinked();
    CompletableFuture<ChatNode> first = CompletableFuture.supplyAsync(() -> node("a"));
    CompletableFuture<ChatNode> second = CompletableFuture.supplyAsync(() -> node("b"));
    a = first.get(90, TimeUnit.SECONDS);
    b = second.get(90, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    for (ChatNode n : new ChatNode[] {a, b}) {
      if (n != null) {
        n.close();
      }
    }
    if (redis != null) {
      redis.close();
    }
  }

  @AfterEach
  void closePeers() {
    peers.forEach(ChatPeer::close);
    peers.clear();
  }

  @Test
  @DisplayName(
      "a send its shard's replica does not confirm in time gets unavailable; its retry with the same id gets one ack and is shown once")
  void unconfirmedSendIsUnavailableThenAckedOnce() throws Exception {
    String room = "ack-" + TestIds.random();
    ChatPeer alice = connect(a, "alice-" + TestIds.random());
    ChatPeer bob = connect(b, "bob-" + TestIds.random());
    alice.join(room);
    bob.join(room);
    assertThat(alice.say(room, "warm-" + TestIds.random(), "x").getString("type")).isEqualTo("ack");

    String id = "m-" + TestIds.random();
    RedisServer replica = redis.replicaOf(slot(room));
    JsonObject refused = withAsleep(replica, () -> alice.say(room, id, "hello"));
    assertThat(refused.getString("type")).as("answer %s", refused).isEqualTo("error");
    assertThat(refused.getString("code")).isEqualTo("unavailable");
    assertThat(refused.getBoolean("retryable")).isTrue();

    JsonObject ack = alice.say(room, id, "hello");
    assertThat(ack.getString("type")).as("the retry's answer: %s", ack).isEqualTo("ack");
    assertThat(alice.say(room, id, "hello").getLong("seq"))
        .as("a second retry's ack")
        .isEqualTo(ack.getLong("seq"));
    assertThat(historyIds(room)).as("stored once").containsOnlyOnce(id);
    bob.settle(Duration.ofMillis(500));
    assertThat(bob.messages(room).stream().filter(m -> id.equals(m.getString("id"))))
        .as("shown to bob")
        .hasSize(1);
  }

  @Test
  @DisplayName(
      "a write that follows a MOVED to a room's new master waits for that master's replica")
  void afterAMovedTheWaitFollowsTheWrite() throws Exception {
    String room = "moved-" + TestIds.random();
    // Through node b's server API: b holds no subscription to the room, so nothing there reads
    // the room when its slot moves, and b's topology stays old until its next read (every 5 s).
    ApiClient api = new ApiClient(b.port());
    api.publish(room, "before-" + TestIds.random(), "system", "x");
    int slot = slot(room);
    RedisServer source = redis.masterOf(slot);
    RedisServer target =
        redis.masters().stream().filter(m -> m != source).findFirst().orElseThrow();
    // Found before the move: until gossip spreads it, some nodes still name the old master.
    RedisServer targetReplica = replicaOf(target);
    redis.moveSlot(slot, target);

    // The script most likely goes to the old master and follows its MOVED (unless b's periodic
    // read came in between); either way the WAIT belongs on the target, whose replica sleeps. A
    // WAIT on the old master would be confirmed by its awake replica, and the write acked.
    String id = "after-" + TestIds.random();
    String path = "/api/rooms/" + room + "/messages";
    ApiClient.Answer refused =
        withAsleep(targetReplica, () -> api.post(path, ApiClient.message(id, "system", "y")));
    assertThat(refused.status()).as("answer %s", refused).isEqualTo(503);
    assertThat(refused.json().getString("error")).isEqualTo("unavailable");
    JsonObject stored = api.publish(room, id, "system", "y");
    assertThat(stored.getLong("seq")).as("the retry's answer: %s", stored).isEqualTo(2L);
    assertThat(historyIds(target, room)).as("stored once, on the new master").containsOnlyOnce(id);
    redis.awaitSettled();
  }

  private static ChatNode node(String name) {
    return ChatNode.builder()
        .name("cluster-ack-" + name + "-" + TestIds.random())
        .env("CHAT_REDIS_MODE", "cluster")
        .env("CHAT_REDIS_URL", String.join(",", redis.seedUris()))
        .env("CHAT_REDIS_REPLICAS_ACK", "1")
        .env("CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", Long.toString(WAIT_TIMEOUT_MS))
        .env("CHAT_BROKER_TIMEOUT_MS", "2000")
        .env("CHAT_ACK_TIMEOUT_MS", "30000")
        .env("CHAT_API_KEY", ApiClient.KEY)
        .readyTimeout(Duration.ofSeconds(60))
        .start();
  }

  private ChatPeer connect(ChatNode node, String user) {
    ChatPeer p = ChatPeer.connect(node, user, true);
    peers.add(p);
    return p;
  }

  /** Runs {@code send} while {@code replica} sleeps, so it confirms nothing. */
  private static <T> T withAsleep(RedisServer replica, Callable<T> send) throws Exception {
    CompletableFuture<Object> asleep =
        CompletableFuture.supplyAsync(
            () -> call(replica, "DEBUG", "SLEEP", SLEEP_SECONDS),
            task -> new Thread(task, "debug-sleep-" + replica.port()).start());
    // DEBUG SLEEP has no reply until it ends: give it a moment to arrive. Were it late, the send
    // would be acked and the test fail, not pass.
    Thread.sleep(200);
    try {
      return send.call();
    } finally {
      asleep.get(10, TimeUnit.SECONDS);
    }
  }

  /** The replica of {@code master}, found through a slot it serves. */
  private static RedisServer replicaOf(RedisServer master) {
    for (int n = 0; ; n++) {
      int slot = slot("probe-" + n);
      if (redis.masterOf(slot) == master) {
        return redis.replicaOf(slot);
      }
    }
  }

  private static int slot(String room) {
    return ((Long) call(redis.masters().get(0), "CLUSTER", "KEYSLOT", "{" + room + "}")).intValue();
  }

  private static Object call(RedisServer node, String... args) {
    try (RespClient c = node.client()) {
      return c.call(args);
    }
  }

  private static List<String> historyIds(String room) {
    return historyIds(redis.masterOf(slot(room)), room);
  }

  private static List<String> historyIds(RedisServer master, String room) {
    List<String> ids = new ArrayList<>();
    for (Object entry : (List<?>) call(master, "LRANGE", "chat:{" + room + "}:hist", "0", "-1")) {
      ids.add(new JsonObject((String) entry).getString("id"));
    }
    return ids;
  }
}
