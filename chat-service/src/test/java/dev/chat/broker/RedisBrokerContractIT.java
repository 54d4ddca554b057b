package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static dev.chat.broker.BrokerNode.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Message;
import dev.chat.broker.BrokerNode.Presence;
import dev.chat.config.Config;
import dev.chat.metrics.Metrics;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The broker contract against Redis, plus what only a networked store can do: lose a node, lose the
 * subscriber connection, lose Redis itself. One Redis for the class; every broker has its own
 * owner, as every event loop of every node has.
 */
@DisplayName(
    "The Redis broker keeps the broker contract and survives losing nodes, connections and Redis")
class RedisBrokerContractIT extends BrokerContractTest {

  /**
   * The short lease of the dead-node test. Only that test uses it: the subscriber's liveness probe
   * runs at a fifth of the lease and gives up after three silent periods, which a loaded 2-core
   * machine can exceed with a 1.5 s lease; the other tests keep the default.
   */
  private static final long LEASE_MS = 1_500;

  /** Lease renewals run every third of the lease; a survivor notices within one more renewal. */
  private static final Duration REAPED_WITHIN = Duration.ofMillis(LEASE_MS + LEASE_MS / 3 + 1_500);

  private static final Duration RECONNECTED_WITHIN = Duration.ofSeconds(10);

  private RedisServer redis;
  private final Map<Context, String> owners = new ConcurrentHashMap<>();
  private final Map<Context, URI> redisOf = new ConcurrentHashMap<>();

  @BeforeAll
  void startRedis() {
    redis = RedisServer.start();
  }

  @AfterAll
  void stopRedis() {
    if (redis != null) {
      redis.close();
    }
  }

  @Override
  protected Function<Context, Broker> brokers(Map<String, String> settings) {
    Map<String, String> env = new HashMap<>(Map.of("CHAT_REDIS_URL", redis.uri()));
    env.putAll(settings);
    Config config = Config.from(env);
    return context -> {
      String owner = "test-" + UUID.randomUUID().toString().substring(0, 8);
      owners.put(context, owner);
      redisOf.put(context, URI.create(config.redisUrl()));
      return new RedisBroker(context.owner(), config, owner, Metrics.create(owner));
    };
  }

  /** Waits for the broker's first lease, and for the answer to it to have been handled. */
  @Override
  protected void settled(BrokerNode node) {
    String owner = owners.get(node.context());
    URI uri = redisOf.get(node.context());
    try (RespClient client = RespClient.connect(uri.getHost(), uri.getPort())) {
      waitUntil(
          "the lease of " + owner,
          Duration.ofSeconds(5),
          () -> client.call("ZSCORE", "chat:owners", owner) != null);
    }
    // Replies come back in order on the broker's one command connection: once this read is
    // answered, so was the lease renewal before it.
    node.read(room(), ReadRequest.stateOnly());
  }

  @Test
  @DisplayName("a broker that just started reports no resync: nothing was interrupted")
  void noResyncOnStart() {
    BrokerNode a = cluster().node();
    assertThat(a.resyncs()).isZero();
    assertThat(a.ready()).isTrue();
  }

  @Test
  @DisplayName(
      "when a broker dies without a goodbye, a survivor announces the leaves of its users once its lease runs out")
  void deadBrokersUsersLeave() {
    Cluster cluster = cluster(Map.of("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS)));
    BrokerNode survivor = cluster.node();
    Vertx doomedVertx = Vertx.vertx();
    BrokerNode doomed = cluster.node(doomedVertx);
    String r = room();
    String lonely = user();
    String shared = user();
    survivor.subscribe(r);
    doomed.join(r, lonely, latest(0));
    doomed.join(r, shared, latest(0));
    survivor.join(r, shared, latest(0));
    survivor.awaitPresence(r, "join", shared);

    // A dead node: its timers and connections stop with its Vert.x, and close() never runs.
    doomed.forget();
    await(
        doomedVertx.close().toCompletionStage().toCompletableFuture(), "closing the doomed Vert.x");
    survivor.awaitPresence(r, "leave", lonely, REAPED_WITHIN);

    survivor.call(broker -> broker.leave(r, shared));
    assertThat(survivor.awaitPresence(r, "leave", shared))
        .containsExactly(
            new Presence(r, "join", lonely, 1), new Presence(r, "join", shared, 2),
            new Presence(r, "leave", lonely, 1), new Presence(r, "leave", shared, 0));
  }

  @Test
  @DisplayName(
      "when a broker dies without a goodbye, its slots are given back once its lease runs out")
  void deadBrokersSlotsAreFreed() {
    Cluster cluster = cluster(Map.of("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS)));
    BrokerNode survivor = cluster.node();
    Vertx doomedVertx = Vertx.vertx();
    BrokerNode doomed = cluster.node(doomedVertx);
    String key = "user:" + user();
    assertThat(doomed.acquire(key, 2)).isTrue();
    assertThat(doomed.acquire(key, 2)).isTrue();
    assertThat(survivor.acquire(key, 2)).isFalse();

    doomed.forget();
    await(
        doomedVertx.close().toCompletionStage().toCompletableFuture(), "closing the doomed Vert.x");
    waitUntil("the dead broker's slots given back", REAPED_WITHIN, () -> survivor.acquire(key, 2));
    assertThat(survivor.acquire(key, 2)).isTrue();
    assertThat(survivor.acquire(key, 2)).isFalse();
    try (RespClient client = redis.client()) {
      assertThat(client.call("EXISTS", "chat:owner:{" + owners.get(doomed.context()) + "}:slots"))
          .as("the dead owner's slot list")
          .isEqualTo(0L);
    }
  }

  @Test
  @DisplayName(
      "after its subscriber connection is killed, a broker resubscribes, reports a resync and hears every room again")
  void resubscribesAfterPubsubKill() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    List<String> rooms = List.of(room(), room(), room());
    for (String r : rooms) {
      a.subscribe(r);
      b.publish(draft(r, user(), "before"));
      a.awaitSeq(r, 1);
    }

    try (RespClient client = redis.client()) {
      assertThat((Long) client.call("CLIENT", "KILL", "TYPE", "pubsub")).isGreaterThanOrEqualTo(2);
    }
    waitUntil("a resync", RECONNECTED_WITHIN, () -> a.resyncs() > 0);

    for (String r : rooms) {
      b.publish(draft(r, user(), "after"));
      a.awaitSeq(r, 2);
    }
    assertThat(a.ready()).isTrue();
  }

  @Test
  @DisplayName(
      "when Redis restarts empty, ready goes false then true, a resync is reported and the room starts over in a new epoch")
  void survivesRedisRestart() {
    BrokerNode a = cluster().node();
    String r = room();
    a.subscribe(r);
    a.publish(draft(r, user(), "before"));
    String before = a.read(r, ReadRequest.stateOnly()).epoch();
    a.awaitSeq(r, 1);

    redis.kill();
    try {
      waitUntil("not ready", RECONNECTED_WITHIN, () -> !a.ready());
    } finally {
      redis.restart();
    }
    waitUntil("ready again", RECONNECTED_WITHIN, a::ready);
    waitUntil("a resync", RECONNECTED_WITHIN, () -> a.resyncs() > 0);

    Stored after = a.publish(draft(r, user(), "after"));
    assertThat(after.seq()).isEqualTo(1);
    Snapshot s = a.read(r, latest(10));
    assertThat(s.epoch()).isNotEqualTo(before);
    assertThat(s.seq()).isEqualTo(1);
    Message live =
        BrokerNode.waitFor("the message after the restart", () -> a.messages(r), l -> l.size() == 2)
            .get(1);
    assertThat(live.epoch()).isEqualTo(s.epoch());
    assertThat(live.seq()).isEqualTo(1);
  }

  @Test
  @DisplayName("a publish while Redis is down fails with BrokerUnavailableException")
  void publishFailsWhileRedisIsDown() {
    // a publish sent before the broker noticed the loss fails by timeout at the latest
    BrokerNode a = cluster(Map.of("CHAT_BROKER_TIMEOUT_MS", "1000")).node();
    String r = room();
    String u = user();
    redis.kill();
    try {
      // at once, before the broker noticed, and again once it has
      Throwable atOnce = a.failure(broker -> broker.publish(draft(r, u, "m1")));
      waitUntil("not ready", RECONNECTED_WITHIN, () -> !a.ready());
      Throwable noticed = a.failure(broker -> broker.publish(draft(r, u, "m2")));
      assertThat(atOnce).isInstanceOf(BrokerUnavailableException.class);
      assertThat(noticed).isInstanceOf(BrokerUnavailableException.class);
    } finally {
      redis.restart();
    }
    waitUntil("ready again", RECONNECTED_WITHIN, a::ready);
    assertThat(a.publish(draft(r, u, "m3")).seq()).isEqualTo(1);
  }

  @Test
  @DisplayName(
      "when Redis restarts from an older snapshot, the room gets a new epoch before anything is"
          + " stored, a resume from past the snapshot is not recovered, and no seq of the old epoch"
          + " is reused in it")
  void restartFromOlderSnapshotStartsANewEpoch() {
    try (RedisServer snapshots = RedisServer.startWithSnapshots()) {
      BrokerNode a = cluster(Map.of("CHAT_REDIS_URL", snapshots.uri())).node();
      String r = room();
      String u = user();
      a.subscribe(r);
      for (int i = 1; i <= 10; i++) {
        assertThat(a.publish(draft(r, u, "m" + i)).seq()).isEqualTo(i);
        if (i == 5) {
          snapshots.save();
        }
      }
      String before = a.read(r, ReadRequest.stateOnly()).epoch();
      a.awaitSeq(r, 10);

      snapshots.kill();
      try {
        waitUntil("not ready", RECONNECTED_WITHIN, () -> !a.ready());
      } finally {
        snapshots.restart();
      }
      waitUntil("ready again", RECONNECTED_WITHIN, a::ready);

      // A message acknowledged as seq 7 of the old epoch is gone; the position of its reader
      // must not be honoured, in the old epoch or against the new head.
      Snapshot resumed = a.read(r, new ReadRequest(before, 7L, 10));
      assertThat(resumed.recovered()).isFalse();
      assertThat(resumed.epoch()).isNotEqualTo(before);
      assertThat(resumed.seq()).as("the snapshot's head").isEqualTo(5);

      Stored after = a.publish(draft(r, u, "after"));
      assertThat(after.seq()).isEqualTo(6);
      Message live =
          BrokerNode.waitFor(
                  "the message after the rollback",
                  () -> a.messages(r),
                  l -> l.size() == 11 && l.get(10).seq() == 6)
              .get(10);
      assertThat(live.epoch()).isEqualTo(resumed.epoch()).isNotEqualTo(before);
      // A since past the new epoch's head is not recovered either.
      assertThat(a.read(r, new ReadRequest(resumed.epoch(), 9L, 10)).recovered()).isFalse();
      assertThat(a.read(r, new ReadRequest(resumed.epoch(), 6L, 10)).recovered()).isTrue();
    }
  }

  @Test
  @DisplayName(
      "a room that Redis kept across no restart keeps its epoch: only a new dataset resets")
  void sameDatasetKeepsTheEpoch() {
    BrokerNode a = cluster().node();
    BrokerNode b = cluster().node();
    String r = room();
    a.publish(draft(r, user(), "one"));
    String epoch = a.read(r, latest(1)).epoch();
    b.publish(draft(r, user(), "two"));
    assertThat(b.read(r, new ReadRequest(epoch, 1L, 10)).recovered()).isTrue();
    assertThat(a.read(r, latest(1)).epoch()).isEqualTo(epoch);
  }
}
