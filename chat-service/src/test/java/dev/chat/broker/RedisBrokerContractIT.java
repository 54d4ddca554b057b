package dev.chat.broker;

import static dev.chat.broker.BrokerNode.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Message;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import io.vertx.core.Context;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The broker contract against Redis, plus what only a networked store can do: lose the subscriber
 * connection, lose Redis itself.
 */
@DisplayName(
    "The Redis broker keeps the broker contract and survives losing its connections and Redis")
class RedisBrokerContractIT extends BrokerContractTest {

  private static final Duration RECONNECTED_WITHIN = Duration.ofSeconds(10);

  @RegisterExtension final RedisBackends redis = new RedisBackends();

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return redis.backends(settings);
  }

  @Override
  protected void settled(BrokerNode node) {
    redis.settled(node);
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

    try (RespClient client = redis.redis.client()) {
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

    redis.redis.kill();
    try {
      waitUntil("not ready", RECONNECTED_WITHIN, () -> !a.ready());
    } finally {
      redis.redis.restart();
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
    redis.redis.kill();
    try {
      // at once, before the broker noticed, and again once it has
      Throwable atOnce = a.failure(backend -> backend.broker().publish(draft(r, u, "m1")));
      waitUntil("not ready", RECONNECTED_WITHIN, () -> !a.ready());
      Throwable noticed = a.failure(backend -> backend.broker().publish(draft(r, u, "m2")));
      assertThat(atOnce).isInstanceOf(BrokerUnavailableException.class);
      assertThat(noticed).isInstanceOf(BrokerUnavailableException.class);
    } finally {
      redis.redis.restart();
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

  @Test
  @DisplayName(
      "after a restart from an older snapshot, read positions are the snapshot's: never past its"
          + " head, naming messages that kept their seqs, and moving forward in the new epoch")
  void readPositionsFollowTheSnapshot() {
    try (RedisServer snapshots = RedisServer.startWithSnapshots()) {
      BrokerNode a = cluster(Map.of("CHAT_REDIS_URL", snapshots.uri())).node();
      String r = room();
      String alice = user();
      for (int i = 1; i <= 8; i++) {
        a.publish(draft(r, user(), "m" + i));
        if (i == 4) {
          assertThat(markRead(a, r, alice, 4)).isEqualTo(4L);
        }
        if (i == 5) {
          snapshots.save();
        }
      }
      assertThat(markRead(a, r, alice, 8)).isEqualTo(8L);
      String before = a.read(r, ReadRequest.stateOnly()).epoch();

      snapshots.kill();
      try {
        waitUntil("not ready", RECONNECTED_WITHIN, () -> !a.ready());
      } finally {
        snapshots.restart();
      }
      waitUntil("ready again", RECONNECTED_WITHIN, a::ready);

      Snapshot s = a.join(r, alice, latest(10));
      assertThat(s.epoch()).isNotEqualTo(before);
      assertThat(s.seq()).isEqualTo(5);
      assertThat(s.read())
          .as("the snapshot's position, at a surviving seq")
          .containsEntry(alice, 4L);
      assertThat(s.messages()).hasSize(5);
      a.publish(draft(r, user(), "after"));
      assertThat(markRead(a, r, alice, 8)).as("capped at the new epoch's head").isEqualTo(6L);
    }
  }

  private static long markRead(BrokerNode node, String room, String user, long seq) {
    return node.<Long>call(backend -> backend.broker().markRead(room, user, seq));
  }
}
