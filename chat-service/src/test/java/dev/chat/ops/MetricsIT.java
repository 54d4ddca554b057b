package dev.chat.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.CloseCode;
import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.ClientFrames;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.DoublePredicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code GET /metrics} of a real node on a real Redis: every series is there, and each counter
 * moves when the thing it counts happens. The node logs JSON, so its log is checked here too.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class MetricsIT {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("metrics")
          .env("CHAT_INSTANCES", "1")
          .env("CHAT_ACK_TIMEOUT_MS", "300")
          .env("CHAT_MAX_REDELIVERIES", "1")
          .env("CHAT_HEARTBEAT_INTERVAL_MS", "300")
          .env("CHAT_HEARTBEAT_TIMEOUT_MS", "1000")
          .env("CHAT_LOG_FORMAT", "json")
          .env("CHAT_LOG_LEVEL", "DEBUG")
          .nodes(1)
          .build();

  private ChatNode node;

  @BeforeAll
  void start() {
    node = cluster.a();
  }

  @Test
  @DisplayName(
      "/metrics answers in the Prometheus text format with every chat series, a close counter per code, and JVM meters")
  void exposesEverySeries() {
    Scrape s = Scrape.of(node);

    assertThat(s.contentType()).startsWith("text/plain");
    assertThat(s.names())
        .contains(
            "chat_sockets_open",
            "chat_joins_total",
            "chat_messages_in_total",
            "chat_messages_out_total",
            "chat_acks_total",
            "chat_redeliveries_total",
            "chat_closes_total",
            "chat_dedup_hits_total",
            "chat_broker_publish_seconds_bucket",
            "chat_broker_publish_seconds_count",
            "chat_broker_publish_seconds_sum",
            "chat_redis_reconnects_total",
            "chat_seq_gaps_repaired_total",
            "chat_drain_remaining_sockets",
            "chat_draining",
            "jvm_memory_used_bytes");
    for (CloseCode code : CloseCode.values()) {
      assertThat(s.has("chat_closes_total", "code", Integer.toString(code.code())))
          .as("chat_closes_total{code=%s}", code.code())
          .isTrue();
    }
    assertThat(s.has("chat_redis_reconnects_total", "connection", "commands")).isTrue();
    assertThat(s.has("chat_redis_reconnects_total", "connection", "subscriber")).isTrue();
    assertThat(s.has("chat_joins_total", "node", node.name()))
        .as("series carry the node id")
        .isTrue();
    assertThat(s.value("chat_draining")).isZero();
    assertThat(s.value("chat_drain_remaining_sockets")).isZero();
  }

  @Test
  @DisplayName(
      "a join, a send, its delivery and the client's ack move joins, messages in and out, acks, "
          + "the publish histogram and the open sockets")
  void sendMovesCounters() {
    Scrape before = Scrape.of(node);
    WsClient alice = connect(user("alice"));
    String room = room();
    join(alice, room);
    alice.send(send(room, "m1", "hello"));
    long seq =
        alice
            .awaitMatching(
                f -> "ack".equals(f.getString("type")) && "m1".equals(f.getString("id")), WAIT)
            .getLong("seq");
    alice.awaitMatching(
        f -> "message".equals(f.getString("type")) && f.getLong("seq") == seq, WAIT);
    alice.send(ClientFrames.ack(room, seq));

    double acks = awaitValue("chat_acks_total", v -> v >= before.value("chat_acks_total") + 1);
    Scrape after = Scrape.of(node);
    assertThat(acks - before.value("chat_acks_total")).isEqualTo(1.0);
    assertThat(delta(before, after, "chat_joins_total")).isEqualTo(1.0);
    assertThat(delta(before, after, "chat_messages_in_total")).isEqualTo(1.0);
    assertThat(delta(before, after, "chat_messages_out_total")).isGreaterThanOrEqualTo(1.0);
    assertThat(delta(before, after, "chat_broker_publish_seconds_count")).isEqualTo(1.0);
    assertThat(
            after.value("chat_broker_publish_seconds_bucket", "le", "+Inf")
                - before.value("chat_broker_publish_seconds_bucket", "le", "+Inf"))
        .isEqualTo(1.0);
    assertThat(awaitValue("chat_sockets_open", v -> v == 1)).as("sockets open").isEqualTo(1.0);

    alice.close();
    assertThat(awaitValue("chat_sockets_open", v -> v == 0))
        .as("sockets open after the close")
        .isZero();
  }

  @Test
  @DisplayName(
      "a send repeating a used id is answered with the earlier ack and counted as a dedup hit")
  void dedupHitIsCounted() {
    WsClient bob = connect(user("bob"));
    String room = room();
    join(bob, room);
    bob.send(send(room, "same-id", "once"));
    long first = awaitAck(bob, "same-id");
    bob.send(ClientFrames.ack(room, first));
    double before = Scrape.of(node).value("chat_dedup_hits_total");

    bob.send(send(room, "same-id", "once"));

    assertThat(awaitAck(bob, "same-id")).isEqualTo(first);
    assertThat(awaitValue("chat_dedup_hits_total", v -> v >= before + 1) - before).isEqualTo(1.0);
  }

  @Test
  @DisplayName("a client that never acks is redelivered to, closed with 4001, and both are counted")
  void unackedCloseIsCountedByCode() {
    Scrape before = Scrape.of(node);
    WsClient mute = connect(user("mute"));
    String room = room();
    join(mute, room);
    mute.send(send(room, "m1", "never acked"));

    assertThat(mute.awaitClose(WAIT)).isEqualTo(4001);
    awaitValue(
        "chat_closes_total",
        v -> v >= before.value("chat_closes_total", "code", "4001") + 1,
        "code",
        "4001");
    Scrape after = Scrape.of(node);
    assertThat(delta(before, after, "chat_closes_total", "code", "4001")).isEqualTo(1.0);
    assertThat(delta(before, after, "chat_redeliveries_total")).isGreaterThanOrEqualTo(1.0);
  }

  @Test
  @DisplayName("a client that never answers pings is closed with 4000, counted by code")
  void heartbeatTimeoutIsCountedByCode() {
    double before = Scrape.of(node).value("chat_closes_total", "code", "4000");
    try (RawWebSocket silent =
        RawWebSocket.connect("127.0.0.1", node.port(), "/ws?user=" + user("silent"))) {
      assertThat(silent.awaitClose(WAIT)).isEqualTo(4000);
    }
    assertThat(awaitValue("chat_closes_total", v -> v >= before + 1, "code", "4000") - before)
        .isEqualTo(1.0);
  }

  @Test
  @DisplayName(
      "a message stored without being published leaves a seq gap that the node repairs from history and counts")
  void seqGapRepairIsCounted() {
    WsClient carol = connect(user("carol"));
    String room = room();
    assertThat(join(carol, room).getLong("seq")).isZero();
    double before = Scrape.of(node).value("chat_seq_gaps_repaired_total");
    // What a lost PUBLISH looks like: seq 1 is in history, but never reached the node.
    String ghost =
        new JsonObject()
            .put("type", "message")
            .put("room", room)
            .put("seq", 1)
            .put("id", "ghost-1")
            .put("from", "ghost")
            .put("text", "lost publish")
            .put("ts", 1L)
            .encode();
    try (RespClient resp = cluster.redis().client()) {
      assertThat(resp.call("INCR", "chat:{" + room + "}:seq")).isEqualTo(1L);
      resp.call("RPUSH", "chat:{" + room + "}:hist", ghost);
    }

    carol.send(send(room, "m2", "after the gap"));

    assertThat(
            carol.awaitMatching(f -> "message".equals(f.getString("type")), WAIT).getString("id"))
        .as("the lost message, repaired from history, comes first")
        .isEqualTo("ghost-1");
    assertThat(carol.awaitMatching(f -> "message".equals(f.getString("type")), WAIT).getLong("seq"))
        .isEqualTo(2L);
    carol.send(ClientFrames.ack(room, 2));
    assertThat(awaitValue("chat_seq_gaps_repaired_total", v -> v >= before + 1) - before)
        .isEqualTo(1.0);
  }

  @Test
  @DisplayName("killed Redis connections come back, and each reconnect is counted by connection")
  void redisReconnectsAreCounted() {
    Scrape before = Scrape.of(node);
    try (RespClient resp = cluster.redis().client()) {
      resp.call("CLIENT", "KILL", "TYPE", "pubsub");
      resp.call("CLIENT", "KILL", "TYPE", "normal");
    }

    awaitValue(
        "chat_redis_reconnects_total",
        v -> v >= before.value("chat_redis_reconnects_total", "connection", "subscriber") + 1,
        "connection",
        "subscriber");
    awaitValue(
        "chat_redis_reconnects_total",
        v -> v >= before.value("chat_redis_reconnects_total", "connection", "commands") + 1,
        "connection",
        "commands");
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (node.httpStatus("/health/ready") != 200 && System.nanoTime() < deadline) {
      pause();
    }
    assertThat(node.httpStatus("/health/ready")).as("ready again").isEqualTo(200);
  }

  @Test
  @DisplayName(
      "logs are JSON lines carrying the node, and a 4001 close is logged with user and close code, never the token")
  void logsAreJsonWithContextAndNoToken() throws IOException {
    String user = user("logged");
    String token = "secret-" + UUID.randomUUID();
    WsClient client =
        keep(WsClient.connect(java.net.URI.create(node.wsUri(user) + "&token=" + token)));
    client.welcome();
    String room = room();
    join(client, room);
    client.send(send(room, "m1", "never acked"));
    assertThat(client.awaitClose(WAIT)).isEqualTo(4001);

    JsonObject close =
        awaitLogLine(line -> line.contains("closing connection") && line.contains(user));
    assertThat(close.getString("level")).isEqualTo("INFO");
    assertThat(close.getJsonObject("context").getJsonObject("properties").getString("node"))
        .isEqualTo(node.name());
    JsonObject kvp = new JsonObject();
    close.getJsonArray("kvpList", new JsonArray()).forEach(o -> kvp.mergeIn((JsonObject) o));
    assertThat(kvp.getString("user")).isEqualTo(user);
    assertThat(kvp.getString("code")).isEqualTo("4001");
    List<String> lines = Files.readAllLines(node.logFile());
    assertThat(lines).as("log lines").noneMatch(l -> l.contains(token));
    assertThat(lines.stream().filter(l -> l.startsWith("{")).toList())
        .as("JSON log lines")
        .isNotEmpty()
        .allSatisfy(l -> assertThat(new JsonObject(l).getString("level")).isNotBlank());
  }

  private JsonObject awaitLogLine(java.util.function.Predicate<String> wanted) throws IOException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      for (String line : Files.readAllLines(node.logFile())) {
        if (line.startsWith("{") && wanted.test(line)) {
          return new JsonObject(line);
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no such log line within " + WAIT + "; log:\n" + node.logTail(20));
      }
      pause();
    }
  }

  /**
   * Polls the series until {@code done} holds for its value; returns that value, or fails with the
   * last.
   */
  private double awaitValue(String name, DoublePredicate done, String... labels) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      double v = Scrape.of(node).value(name, labels);
      if (done.test(v)) {
        return v;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(name + " " + List.of(labels) + " still " + v + " after " + WAIT);
      }
      pause();
    }
  }

  private static double delta(Scrape before, Scrape after, String name, String... labels) {
    return after.value(name, labels) - before.value(name, labels);
  }

  private WsClient connect(String user) {
    WsClient c = keep(WsClient.connect(node.wsUri(user)));
    c.welcome();
    return c;
  }

  private <T extends AutoCloseable> T keep(T c) {
    return cluster.track(c);
  }

  private static JsonObject join(WsClient c, String room) {
    c.send(ClientFrames.join(room));
    return c.awaitMatching(
        f -> "joined".equals(f.getString("type")) && room.equals(f.getString("room")), WAIT);
  }

  private static long awaitAck(WsClient c, String id) {
    return c.awaitMatching(
            f -> "ack".equals(f.getString("type")) && id.equals(f.getString("id")), WAIT)
        .getLong("seq");
  }

  private static JsonObject send(String room, String id, String text) {
    return ClientFrames.send(room, id, text);
  }

  private static String room() {
    return "r-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String user(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 6);
  }

  private static void pause() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
