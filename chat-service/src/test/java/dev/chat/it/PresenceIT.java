package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitPresence;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.awaitType;
import static dev.chat.it.LiveChecks.framesBeforeMarker;
import static dev.chat.it.LiveChecks.join;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.presences;
import static dev.chat.it.LiveChecks.raw;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Presence across two nodes sharing one Redis: who is announced to whom, how {@code online} counts,
 * and every way a user's last connection can end.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PresenceIT {

  private static final Duration NODE_DEATH_NOTICED = Duration.ofSeconds(15);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("presence")
          .env("CHAT_NODE_LEASE_MS", "3000")
          .env("CHAT_HEARTBEAT_INTERVAL_MS", "200")
          .env("CHAT_HEARTBEAT_TIMEOUT_MS", "1000")
          // no redelivery during a test: the frames a test reads are exactly the ones sent once
          .env("CHAT_ACK_TIMEOUT_MS", "60000")
          .nodes(2)
          .build();

  private ChatNode a;
  private ChatNode b;

  @BeforeAll
  void start() {
    a = cluster.a();
    b = cluster.b();
  }

  private ChatNode.Builder node(String name) {
    return cluster.builder(name, Map.of());
  }

  @Test
  @DisplayName(
      "a user's first join and last leave are announced to the others only, and online counts distinct users across nodes")
  void firstJoinAndLastLeave() {
    String room = room();
    String watcher = user("watcher");
    String alice = user("alice");
    String bob = user("bob");
    try (WsClient w = WsClient.connect(a.wsUri(watcher));
        WsClient alice1 = WsClient.connect(b.wsUri(alice));
        WsClient alice2 = WsClient.connect(a.wsUri(alice));
        WsClient bob1 = WsClient.connect(b.wsUri(bob))) {
      JsonObject first = joinRoom(w, room);
      assertThat(first.getInteger("online")).isEqualTo(1);
      assertThat(first.getJsonArray("users").getList()).containsExactly(watcher);

      // alice's first connection (node b): announced to the watcher, not to alice herself
      JsonObject aliceJoined = joinRoom(alice1, room);
      assertThat(aliceJoined.getInteger("online")).isEqualTo(2);
      assertThat(aliceJoined.getJsonArray("users").getList())
          .containsExactlyInAnyOrder(watcher, alice);
      JsonObject announced = awaitPresence(w, room, "join", alice);
      assertThat(announced.getInteger("online")).isEqualTo(2);
      assertThat(presences(framesBeforeMarker(w, room, alice1).get(0))).isEmpty();

      // alice's second connection (node a): alice is already online, so nothing is announced
      JsonObject secondJoined = joinRoom(alice2, room);
      assertThat(secondJoined.getInteger("online")).isEqualTo(2);
      List<List<JsonObject>> quiet = framesBeforeMarker(w, room, w, alice1, alice2);
      assertThat(quiet).allSatisfy(frames -> assertThat(presences(frames)).isEmpty());

      // bob on node b: online counts alice once, though she has two connections on two nodes
      assertThat(joinRoom(bob1, room).getInteger("online")).isEqualTo(3);
      assertThat(awaitPresence(w, room, "join", bob).getInteger("online")).isEqualTo(3);
      assertThat(awaitPresence(alice1, room, "join", bob).getInteger("online")).isEqualTo(3);
      assertThat(awaitPresence(alice2, room, "join", bob).getInteger("online")).isEqualTo(3);

      // closing one of alice's two connections announces nothing
      alice1.close();
      List<List<JsonObject>> afterOne = framesBeforeMarker(bob1, room, w, bob1, alice2);
      assertThat(afterOne).allSatisfy(frames -> assertThat(presences(frames)).isEmpty());

      // closing the last one announces her leave to the others
      alice2.close();
      assertThat(awaitPresence(w, room, "leave", alice).getInteger("online")).isEqualTo(2);
      assertThat(awaitPresence(bob1, room, "leave", alice).getInteger("online")).isEqualTo(2);
      List<List<JsonObject>> end = framesBeforeMarker(w, room, w, bob1);
      assertThat(end).allSatisfy(frames -> assertThat(presences(frames)).isEmpty());
    }
  }

  @Test
  @DisplayName("a leave frame announces the user's leave to members on the other node")
  void leaveFrame() {
    String room = room();
    String leaver = user("leaver");
    try (WsClient w = WsClient.connect(a.wsUri(user("watcher")));
        WsClient l = WsClient.connect(b.wsUri(leaver))) {
      joinRoom(w, room);
      joinRoom(l, room);
      awaitPresence(w, room, "join", leaver);

      l.send(LiveChecks.leave(room));
      assertThat(l.await("left", WAIT).getString("room")).isEqualTo(room);
      assertThat(awaitPresence(w, room, "leave", leaver).getInteger("online")).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("closing the socket, cleanly or by dropping TCP, announces the user's leave")
  void socketClose() {
    String room = room();
    String closer = user("closer");
    String dropper = user("dropper");
    try (WsClient w = WsClient.connect(a.wsUri(user("watcher")));
        WsClient c = WsClient.connect(b.wsUri(closer));
        WsClient d = WsClient.connect(b.wsUri(dropper))) {
      joinRoom(w, room);
      joinRoom(c, room);
      joinRoom(d, room);
      awaitPresence(w, room, "join", closer);
      awaitPresence(w, room, "join", dropper);

      c.close();
      assertThat(awaitPresence(w, room, "leave", closer).getInteger("online")).isEqualTo(2);
      d.abort();
      assertThat(awaitPresence(w, room, "leave", dropper).getInteger("online")).isEqualTo(1);
    }
  }

  @Test
  @DisplayName("a connection closed for heartbeat timeout announces the user's leave")
  void heartbeatTimeout() {
    String room = room();
    String silent = user("silent");
    try (WsClient w = WsClient.connect(a.wsUri(user("watcher")));
        RawWebSocket s = raw(b.port(), silent)) {
      joinRoom(w, room);
      awaitType(s, "welcome");
      s.sendText(join(room).encode());
      assertThat(awaitType(s, "joined").getInteger("online")).isEqualTo(2);
      awaitPresence(w, room, "join", silent);

      // it never answers a ping and sends nothing more
      assertThat(s.awaitClose(WAIT)).isEqualTo(4000);
      assertThat(awaitPresence(w, room, "leave", silent).getInteger("online")).isEqualTo(1);
    }
  }

  @Test
  @DisplayName(
      "when a node is killed, members on the surviving node see a leave for each of its users within 15 s, but none for a user still connected elsewhere")
  void nodeKilled() {
    String room = room();
    String u1 = user("doomed");
    String u2 = user("doomed");
    String both = user("both");
    try (ChatNode c = node("presence-c").start();
        RespClient resp = cluster.redis().client();
        WsClient w = WsClient.connect(a.wsUri(user("watcher")));
        WsClient bothOnA = WsClient.connect(a.wsUri(both))) {
      joinRoom(w, room);
      joinRoom(bothOnA, room);
      WsClient d1 = WsClient.connect(c.wsUri(u1));
      WsClient d2 = WsClient.connect(c.wsUri(u2));
      WsClient bothOnC = WsClient.connect(c.wsUri(both));
      joinRoom(d1, room);
      joinRoom(d2, room);
      joinRoom(bothOnC, room);
      awaitPresence(w, room, "join", u1);
      assertThat(awaitPresence(w, room, "join", u2).getInteger("online")).isEqualTo(4);

      c.kill();
      long killed = System.nanoTime();
      Map<String, Integer> leaves = new HashMap<>();
      List<JsonObject> presences = new ArrayList<>();
      w.awaitMatching(
          f -> {
            if ("presence".equals(f.getString("type"))) {
              presences.add(f);
              if ("leave".equals(f.getString("event"))) {
                leaves.put(f.getString("user"), f.getInteger("online"));
              }
            }
            return leaves.keySet().containsAll(Set.of(u1, u2));
          },
          NODE_DEATH_NOTICED);
      assertThat(Duration.ofNanos(System.nanoTime() - killed)).isLessThan(NODE_DEATH_NOTICED);
      assertThat(leaves.values()).containsExactlyInAnyOrder(3, 2);

      // once every loop of the dead node is reaped, its last presence of `both` went without a word
      awaitTrue(
          "the dead node's presences are reaped",
          WAIT,
          () ->
              resp.call(
                      "EXISTS",
                      "chat:owner:{presence-c/0}:rooms",
                      "chat:owner:{presence-c/1}:rooms")
                  .equals(0L));
      presences.addAll(presences(framesBeforeMarker(w, room, w, bothOnA).get(0)));
      assertThat(presences).noneMatch(f -> both.equals(f.getString("user")));
      try (WsClient late = WsClient.connect(b.wsUri(user("late")))) {
        assertThat(joinRoom(late, room).getInteger("online"))
            .as("watcher, both, late")
            .isEqualTo(3);
      }
      d1.abort();
      d2.abort();
      bothOnC.abort();
    }
  }
}
