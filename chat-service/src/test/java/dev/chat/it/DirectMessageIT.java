package dev.chat.it;

import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.ClientFrames;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Direct messages across two nodes: both inboxes, the ack, offline delivery, privacy, dedup. */
@Timeout(60)
class DirectMessageIT {

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("dm").env(ChatCluster.QUIET_TIMERS).nodes(2).build();

  private static String inbox(String user) {
    return "@" + user;
  }

  @Test
  @DisplayName(
      "a dm to a user on the other node reaches the recipient's inbox and every connection of the"
          + " sender's inbox, with to; the ack names the sender's inbox")
  void dmAcrossNodes() {
    String alice = user("alice");
    String bob = user("bob");
    ChatPeer aliceOnA = cluster.connect(cluster.a(), alice);
    ChatPeer aliceOnB = cluster.connect(cluster.b(), alice);
    ChatPeer bobOnB = cluster.connect(cluster.b(), bob);
    aliceOnA.join(inbox(alice));
    aliceOnB.join(inbox(alice));
    bobOnB.join(inbox(bob));

    String id = id();
    JsonObject ack = aliceOnA.dm(bob, id, "hi bob");

    assertThat(ack.getString("type")).as(ack.encode()).isEqualTo("ack");
    assertThat(ack.getString("id")).isEqualTo(id);
    assertThat(ack.getString("room")).isEqualTo(inbox(alice));
    assertThat(ack.getLong("seq")).isEqualTo(1L);

    bobOnB.awaitSeq(inbox(bob), 1);
    JsonObject received = bobOnB.messages(inbox(bob)).get(0);
    assertThat(received.getLong("seq")).isEqualTo(1L);
    assertDm(received, inbox(bob), id, alice, bob, "hi bob");

    for (ChatPeer copy : List.of(aliceOnA, aliceOnB)) {
      copy.awaitSeq(inbox(alice), ack.getLong("seq"));
      assertThat(copy.messages(inbox(alice))).hasSize(1);
      JsonObject mine = copy.messages(inbox(alice)).get(0);
      assertDm(mine, inbox(alice), id, alice, bob, "hi bob");
      assertThat(mine.getLong("seq")).isEqualTo(ack.getLong("seq"));
      assertThat(mine.getLong("ts")).isEqualTo(ack.getLong("ts"));
    }

    // and back: bob's reply lands in both inboxes too
    String reply = id();
    JsonObject replyAck = bobOnB.dm(alice, reply, "hi alice");
    assertThat(replyAck.getString("room")).isEqualTo(inbox(bob));
    assertThat(replyAck.getLong("seq")).isEqualTo(2L);
    aliceOnA.awaitSeq(inbox(alice), 2);
    assertDm(aliceOnA.messages(inbox(alice)).get(1), inbox(alice), reply, bob, alice, "hi alice");
    bobOnB.awaitSeq(inbox(bob), 2);
    assertDm(bobOnB.messages(inbox(bob)).get(1), inbox(bob), reply, bob, alice, "hi alice");
  }

  @Test
  @DisplayName("a dm to a user with no connection waits in their inbox until they join it")
  void offlineDm() {
    String alice = user("alice");
    String carol = user("carol");
    ChatPeer aliceOnA = cluster.connect(cluster.a(), alice);
    String id = id();
    assertThat(aliceOnA.dm(carol, id, "call me").getString("type")).isEqualTo("ack");

    ChatPeer carolOnB = cluster.connect(cluster.b(), carol);
    JsonObject joined = carolOnB.join(inbox(carol));

    assertThat(joined.getLong("seq")).isEqualTo(1L);
    assertThat(joined.getBoolean("recovered")).isFalse();
    List<JsonObject> waiting = carolOnB.awaitMessages(inbox(carol), 1);
    assertDm(waiting.get(0), inbox(carol), id, alice, carol, "call me");
  }

  @Test
  @DisplayName("joining another user's inbox is answered forbidden and the connection stays usable")
  void othersInboxIsForbidden() {
    String alice = user("alice");
    String bob = user("bob");
    ChatPeer bobOnB = cluster.connect(cluster.b(), bob);
    bobOnB.join(inbox(bob));
    assertThat(cluster.connect(cluster.a(), alice).dm(bob, id(), "secret").getString("type"))
        .isEqualTo("ack");

    ChatPeer snoop = cluster.connect(cluster.a(), user("mallory"));
    snoop.send(ClientFrames.join(inbox(bob)));

    JsonObject error = snoop.claim(f -> "error".equals(f.getString("type")), "error");
    assertThat(error.getString("code")).isEqualTo("forbidden");
    assertThat(error.containsKey("id")).isFalse();
    JsonObject refused = snoop.say(inbox(bob), id(), "let me in");
    assertThat(refused.getString("code")).as("not a member after all").isEqualTo("not_joined");
    snoop.pingPong();
    assertThat(snoop.received())
        .as("nothing of bob's inbox leaked")
        .noneMatch(
            f -> inbox(bob).equals(f.getString("room")) && !"error".equals(f.getString("type")));
    assertThat(snoop.isClosed()).isFalse();
  }

  @Test
  @DisplayName(
      "a dm repeated with the same id, on a new connection, is stored once in each inbox and acked the same")
  void dmDedup() {
    String alice = user("alice");
    String bob = user("bob");
    String id = id();
    JsonObject first = cluster.connect(cluster.a(), alice).dm(bob, id, "once");
    JsonObject again = cluster.connect(cluster.b(), alice).dm(bob, id, "once");
    assertThat(first.getString("type")).isEqualTo("ack");
    assertThat(again).isEqualTo(first);

    String next = id();
    JsonObject nextAck = cluster.connect(cluster.b(), alice).dm(bob, next, "twice");
    assertThat(nextAck.getLong("seq")).isEqualTo(first.getLong("seq") + 1);

    ChatPeer bobOnA = cluster.connect(cluster.a(), bob);
    ChatPeer aliceOnA = cluster.connect(cluster.a(), alice);
    for (ChatPeer peer : List.of(bobOnA, aliceOnA)) {
      String room = inbox(peer.user());
      assertThat(peer.join(room).getLong("seq")).as(room + " holds two messages").isEqualTo(2L);
      assertThat(peer.awaitMessages(room, 2))
          .as(room)
          .extracting(m -> m.getString("id"), m -> m.getString("text"))
          .containsExactly(tuple(id, "once"), tuple(next, "twice"));
    }
  }

  private static void assertDm(
      JsonObject message, String room, String id, String from, String to, String text) {
    assertThat(message.getString("type")).isEqualTo("message");
    assertThat(message.getString("room")).isEqualTo(room);
    assertThat(message.getString("id")).isEqualTo(id);
    assertThat(message.getString("from")).isEqualTo(from);
    assertThat(message.getString("to")).isEqualTo(to);
    assertThat(message.getString("text")).isEqualTo(text);
    assertThat(message.getLong("ts")).isPositive();
  }
}
