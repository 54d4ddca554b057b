package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitPresence;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.pause;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 10, part 2: Redis is down long enough for the reconnect backoff to reach its ceiling and
 * the leases to run out, comes back empty, and a node dies afterwards. Its users must not stay
 * online: every live node registers its owners and its presence again, so the survivors can reap
 * the dead one.
 */
@Timeout(120)
class LongOutagePresenceIT {

  private static final long LEASE_MS = 3_000;

  /**
   * How long Redis stays down: the outage of the report, longer than the lease and than the 2 s
   * backoff ceiling (a 1.5 s outage never showed the problem).
   */
  private static final Duration OUTAGE = Duration.ofSeconds(8);

  /** The lease runs out at most a lease after the kill; a survivor's next renewal notices. */
  private static final Duration REAPED_WITHIN = Duration.ofMillis(LEASE_MS + LEASE_MS / 3 + 1_500);

  private static final Duration RECOVERED = Duration.ofSeconds(20);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("long").env(ChatCluster.outageTimers(LEASE_MS)).nodes(2).build();

  @Test
  @DisplayName(
      "after an 8 s outage Redis comes back empty: both nodes register their owners and users again, and when one node is then killed its users' leave reaches the survivors within the lease")
  void nodeKilledAfterLongOutageIsReaped() {
    String room = room();
    String alice = user("alice");
    String bob = user("bob");
    RedisServer redis = cluster.redis();
    ChatNode a = cluster.a();
    ChatNode b = cluster.b();
    try (WsClient aliceClient = WsClient.connect(a.wsUri(alice));
        WsClient bobClient = WsClient.connect(b.wsUri(bob))) {
      String oldEpoch = joinRoom(aliceClient, room).getString("epoch");
      joinRoom(bobClient, room);
      awaitPresence(aliceClient, room, "join", bob);
      Set<String> owners =
          Set.of(a.name() + "/0", a.name() + "/1", b.name() + "/0", b.name() + "/1");
      assertThat(owners(redis)).containsAll(owners);

      redis.kill();
      long down = System.nanoTime();
      awaitTrue("node a not ready", WAIT, () -> a.httpStatus("/health/ready") == 503);
      awaitTrue("node b not ready", WAIT, () -> b.httpStatus("/health/ready") == 503);
      aliceClient.send(send(room, "during", "while Redis is down"));
      JsonObject answer =
          aliceClient.awaitMatching(
              f -> "error".equals(f.getString("type")) && "during".equals(f.getString("id")), WAIT);
      assertThat(answer.getString("code")).isEqualTo("unavailable");
      // The fault itself, not a wait for an outcome: Redis stays down for the whole outage.
      pause(OUTAGE.minusNanos(System.nanoTime() - down));

      redis.restart();
      awaitTrue("node a ready again", RECOVERED, () -> a.httpStatus("/health/ready") == 200);
      awaitTrue("node b ready again", RECOVERED, () -> b.httpStatus("/health/ready") == 200);
      for (WsClient c : List.of(aliceClient, bobClient)) {
        JsonObject rejoined =
            c.awaitMatching(
                f -> "joined".equals(f.getString("type")) && room.equals(f.getString("room")),
                RECOVERED);
        assertThat(rejoined.getString("epoch")).isNotEqualTo(oldEpoch);
      }

      // every live owner is back in the owners set, within one lease
      awaitTrue(
          "all four owners leased again in the new Redis",
          Duration.ofMillis(LEASE_MS),
          () -> owners(redis).containsAll(owners));
      // and the users of both nodes are registered again: a newcomer sees them online
      try (WsClient carol = WsClient.connect(a.wsUri(user("carol")))) {
        JsonObject joined = joinRoom(carol, room);
        assertThat(joined.getInteger("online")).isEqualTo(3);
        assertThat(joined.getJsonArray("users").getList()).contains(alice, bob);

        b.kill();
        long killed = System.nanoTime();
        JsonObject left = awaitPresence(aliceClient, room, "leave", bob, RECOVERED);
        Duration took = Duration.ofNanos(System.nanoTime() - killed);
        assertThat(left.getInteger("online")).isEqualTo(2);
        assertThat(took).as("leave after the SIGKILL").isLessThan(REAPED_WITHIN);
        assertThat(awaitPresence(carol, room, "leave", bob).getInteger("online")).isEqualTo(2);
      }
      try (RespClient r = redis.client()) {
        assertThat(r.call("HEXISTS", "chat:{" + room + "}:users", bob)).isEqualTo(0L);
      }
    }
  }

  private static Set<String> owners(RedisServer redis) {
    try (RespClient r = redis.client()) {
      Set<String> owners = new HashSet<>();
      ((List<?>) r.call("ZRANGE", "chat:owners", "0", "-1")).forEach(o -> owners.add((String) o));
      return owners;
    }
  }
}
