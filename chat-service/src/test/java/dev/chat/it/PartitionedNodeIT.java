package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitPresence;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.NetNamespaces;
import dev.chat.testing.NetNamespaces.Host;
import dev.chat.testing.RedisServer;
import dev.chat.testing.TestIds;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A chat node cut off from Redis by a real network partition, neither dead nor able to reach it:
 * Redis, node a and node b each run in a network namespace of their own ({@link NetNamespaces}),
 * the test reaches all three, and only the link between node a and Redis is cut (packets dropped
 * silently both ways, so node a's connections stall rather than fail). Node a's clients must get
 * {@code unavailable}, its readiness must turn 503, node b must reap its presence; once the link is
 * back, its presence returns and its sends are acked.
 */
@Timeout(120)
@DisplayName("A chat node partitioned from Redis")
class PartitionedNodeIT {

  private static final long LEASE_MS = 2_000;
  private static final Duration NOTICED = Duration.ofSeconds(15);

  private NetNamespaces net;
  private RedisServer redis;
  private ChatNode a;
  private ChatNode b;

  @AfterEach
  void stop() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, redis, net}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    }
  }

  @Test
  @DisplayName(
      "gets unavailable for its clients, turns unready and is reaped by the other node; when the link returns its presence comes back and its sends are acked")
  void partitionedFromRedis() throws Exception {
    net = NetNamespaces.create();
    Host redisHost = net.host("redis");
    Host aHost = net.host("node-a");
    Host bHost = net.host("node-b");
    redis = RedisServer.process(redisHost, 6379, null, List.of());
    CompletableFuture<ChatNode> startingA = CompletableFuture.supplyAsync(() -> node(aHost));
    CompletableFuture<ChatNode> startingB = CompletableFuture.supplyAsync(() -> node(bHost));
    a = startingA.get(60, TimeUnit.SECONDS);
    b = startingB.get(60, TimeUnit.SECONDS);

    String room = room();
    String alice = user("alice");
    String bob = user("bob");
    try (WsClient aliceClient = WsClient.connect(a.wsUri(alice));
        WsClient bobClient = WsClient.connect(b.wsUri(bob))) {
      joinRoom(aliceClient, room);
      JsonObject bobJoined = joinRoom(bobClient, room);
      assertThat(bobJoined.getInteger("online")).as("alice and bob online").isEqualTo(2);
      awaitPresence(aliceClient, room, "join", bob);
      ackedAndHeard(aliceClient, bobClient, room, "before");

      net.cut(aHost, redisHost);
      long cutAt = System.nanoTime();

      String during = "during-" + LiveChecks.user("m");
      aliceClient.send(send(room, during, "while cut off"));
      JsonObject refused =
          aliceClient.awaitMatching(
              f -> "error".equals(f.getString("type")) && during.equals(f.getString("id")),
              NOTICED);
      assertThat(refused.getString("code")).isEqualTo("unavailable");
      assertThat(refused.getBoolean("retryable")).isTrue();

      awaitTrue("node a unready", NOTICED, () -> a.httpStatus("/health/ready") == 503);
      JsonObject left = awaitPresence(bobClient, room, "leave", alice, NOTICED);
      assertThat(left.getInteger("online")).as("only bob left online").isEqualTo(1);
      Duration reapedAfter = Duration.ofNanos(System.nanoTime() - cutAt);
      assertThat(a.isAlive()).as("node a is partitioned, not dead").isTrue();
      assertThat(a.httpStatus("/health/live")).as("node a is live").isEqualTo(200);
      assertThat(!aliceClient.isClosed()).as("alice's socket on node a stays open").isTrue();

      net.heal(aHost, redisHost);
      long healedAt = System.nanoTime();
      awaitTrue("node a ready again", NOTICED, () -> a.httpStatus("/health/ready") == 200);
      Duration readyAfter = Duration.ofNanos(System.nanoTime() - healedAt);
      // alice's retry of the refused send, with the same id, is acked once. (The refused copy may
      // have been stored all the same: TCP delivers it to Redis once the link is back. Then the
      // retry is a duplicate and gets that copy's seq.)
      JsonObject ack = sendUntilAcked(aliceClient, room, during);
      // bob was told alice left; he must be told she is back, and hear her message once
      List<JsonObject> heard = new ArrayList<>();
      bobClient.awaitMatching(
          f -> {
            if (isJoinOf(f, alice) || isMessage(f, during)) {
              heard.add(f);
            }
            return heard.stream().anyMatch(h -> isJoinOf(h, alice))
                && heard.stream().anyMatch(h -> isMessage(h, during));
          },
          NOTICED);
      for (JsonObject f : heard) {
        if (isJoinOf(f, alice)) {
          assertThat(f.getInteger("online")).as("alice and bob online again").isEqualTo(2);
        } else {
          assertThat(f.getLong("seq")).as("the retried send's seq").isEqualTo(ack.getLong("seq"));
        }
      }
      assertThat(heard).as("one join of alice and one copy of her message").hasSize(2);
      ackedAndHeard(aliceClient, bobClient, room, "after");

      // alice's presence is back in Redis: a newcomer on node b sees her
      String carol = user("carol");
      try (WsClient carolClient = WsClient.connect(b.wsUri(carol))) {
        awaitTrue(
            "a newcomer on node b lists alice again",
            NOTICED,
            () -> {
              JsonObject joined = joinRoom(carolClient, room);
              carolClient.send(LiveChecks.leave(room));
              return joined.getJsonArray("users").contains(alice)
                  && joined.getInteger("online") == 3;
            });
      }
      System.out.println(
          "partitioned node: reaped "
              + reapedAfter.toMillis()
              + " ms after the cut, ready "
              + readyAfter.toMillis()
              + " ms after the heal");
    }
  }

  private static boolean isJoinOf(JsonObject f, String user) {
    return "presence".equals(f.getString("type"))
        && "join".equals(f.getString("event"))
        && user.equals(f.getString("user"));
  }

  private static boolean isMessage(JsonObject f, String id) {
    return "message".equals(f.getString("type")) && id.equals(f.getString("id"));
  }

  private ChatNode node(Host host) {
    ChatNode.Builder builder =
        ChatNode.builder().in(host).name("partition-" + host.name() + "-" + TestIds.random());
    ChatCluster.QUIET_TIMERS.forEach(builder::env);
    return builder
        .env("CHAT_REDIS_URL", redis.uri())
        .env("CHAT_INSTANCES", "1")
        .env("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS))
        .env("CHAT_BROKER_TIMEOUT_MS", "1000")
        .start();
  }

  /** {@code sender} sends a fresh message that is acked and that {@code listener} hears. */
  private static void ackedAndHeard(WsClient sender, WsClient listener, String room, String text) {
    String id = LiveChecks.user(text);
    JsonObject ack = sendUntilAcked(sender, room, id);
    JsonObject heard =
        listener.awaitMatching(
            f -> "message".equals(f.getString("type")) && id.equals(f.getString("id")), WAIT);
    assertThat(heard.getLong("seq")).isEqualTo(ack.getLong("seq"));
  }

  /** Sends {@code id}, and again after each {@code unavailable}, until it is acked. */
  private static JsonObject sendUntilAcked(WsClient client, String room, String id) {
    long deadline = System.nanoTime() + NOTICED.toNanos();
    while (true) {
      client.send(send(room, id, "text of " + id));
      JsonObject answer =
          client.awaitMatching(
              f ->
                  id.equals(f.getString("id"))
                      && ("ack".equals(f.getString("type")) || "error".equals(f.getString("type"))),
              WAIT);
      if ("ack".equals(answer.getString("type"))) {
        return answer;
      }
      assertThat(answer.getString("code")).isEqualTo("unavailable");
      if (System.nanoTime() > deadline) {
        throw new AssertionError("send " + id + " still unavailable after " + NOTICED);
      }
      LiveChecks.pause(Duration.ofMillis(200));
    }
  }
}
