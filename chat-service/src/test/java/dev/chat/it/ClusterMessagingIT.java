package dev.chat.it;

import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.ClientFrames;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Rooms across two nodes on one Redis: welcome, fan-out, acks, de-duplication, errors, leave. */
@Timeout(60)
class ClusterMessagingIT {

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("msg").env(ChatCluster.QUIET_TIMERS).nodes(2).build();

  @Test
  @DisplayName("the welcome names the user, a fresh connection id, the node and its timers")
  void welcome() {
    String alice = user("alice");
    ChatPeer onA = cluster.connect(cluster.a(), alice);
    ChatPeer onB = cluster.connect(cluster.b(), alice);
    ChatPeer againOnA = cluster.connect(cluster.a(), alice);

    for (ChatPeer peer : List.of(onA, onB, againOnA)) {
      JsonObject w = peer.welcome();
      assertThat(w.getString("type")).isEqualTo("welcome");
      assertThat(w.getString("user")).isEqualTo(alice);
      assertThat(w.getString("connId")).isNotBlank();
      assertThat(w.getString("node")).isEqualTo(peer.node().name());
      assertThat(w.getJsonObject("heartbeat"))
          .isEqualTo(new JsonObject().put("intervalMs", 10000).put("timeoutMs", 30000));
      assertThat(w.getLong("ackTimeoutMs")).isEqualTo(30000L);
    }
    assertThat(List.of(onA, onB, againOnA))
        .extracting(p -> p.welcome().getString("connId"))
        .doesNotHaveDuplicates();
    assertThat(onA.welcome().getString("node")).isNotEqualTo(onB.welcome().getString("node"));
  }

  @Test
  @DisplayName(
      "every member on both nodes, the senders' own connections included, receives every message"
          + " of concurrent senders once, in seq order, and each ack matches its message")
  void fanOutAcrossNodes() throws Exception {
    String room = room();
    String alice = user("alice");
    String bob = user("bob");
    String carol = user("carol");
    ChatPeer aliceOnA = cluster.connect(cluster.a(), alice);
    ChatPeer aliceOnB = cluster.connect(cluster.b(), alice);
    ChatPeer bobOnB = cluster.connect(cluster.b(), bob);
    ChatPeer carolOnA = cluster.connect(cluster.a(), carol);
    ChatPeer carolOnB = cluster.connect(cluster.b(), carol);
    List<ChatPeer> members = List.of(aliceOnA, aliceOnB, bobOnB, carolOnA, carolOnB);
    for (ChatPeer member : members) {
      JsonObject joined = member.join(room);
      assertThat(joined.getLong("seq")).as("a new room").isZero();
    }
    List<ChatPeer> senders = List.of(aliceOnA, bobOnB, carolOnA, carolOnB);
    int perSender = 15;

    // what each sender sent: id -> text, written concurrently from one thread per sender
    Map<ChatPeer, Map<String, String>> sent = new HashMap<>();
    List<CompletableFuture<Void>> sending = new ArrayList<>();
    for (ChatPeer sender : senders) {
      Map<String, String> texts = new HashMap<>();
      for (int i = 0; i < perSender; i++) {
        texts.put(id(), "hello " + i + " from " + sender);
      }
      sent.put(sender, texts);
      sending.add(
          CompletableFuture.runAsync(
              () -> texts.forEach((id, text) -> sender.post(room, id, text))));
    }
    CompletableFuture.allOf(sending.toArray(CompletableFuture[]::new)).get();
    int total = senders.size() * perSender;
    Map<String, JsonObject> acks = new HashMap<>();
    for (ChatPeer sender : senders) {
      sent.get(sender).keySet().forEach(id -> acks.put(id, sender.answer(id)));
    }

    // a last message, stored after all others, so a duplicate would have to arrive before it
    String last = id();
    JsonObject lastAck = bobOnB.say(room, last, "the end");
    assertThat(lastAck.getLong("seq")).isEqualTo(total + 1L);

    List<Long> expectedSeqs = LongStream.rangeClosed(1, total + 1).boxed().toList();
    List<JsonObject> reference = null;
    for (ChatPeer member : members) {
      member.awaitSeq(room, total + 1);
      List<JsonObject> got = member.messages(room);
      assertThat(got)
          .extracting(m -> m.getLong("seq"))
          .as(member + "'s seqs")
          .isEqualTo(expectedSeqs);
      assertThat(got).noneMatch(m -> m.containsKey("redelivered"));
      if (reference == null) {
        reference = got;
      } else {
        assertThat(got).as(member + " got the same frames").isEqualTo(reference);
      }
    }

    Map<String, JsonObject> byId = new HashMap<>();
    reference.forEach(m -> byId.put(m.getString("id"), m));
    assertThat(byId).hasSize(total + 1);
    for (ChatPeer sender : senders) {
      for (Map.Entry<String, String> e : sent.get(sender).entrySet()) {
        JsonObject message = byId.get(e.getKey());
        assertThat(message).as("message " + e.getKey()).isNotNull();
        assertThat(message.getString("from")).isEqualTo(sender.user());
        assertThat(message.getString("text")).isEqualTo(e.getValue());
        assertThat(message.getString("room")).isEqualTo(room);
        assertThat(message.containsKey("to")).isFalse();

        assertThat(acks.get(e.getKey()))
            .isEqualTo(
                new JsonObject()
                    .put("type", "ack")
                    .put("id", e.getKey())
                    .put("room", room)
                    .put("seq", message.getLong("seq"))
                    .put("ts", message.getLong("ts")));
      }
    }
    assertThat(lastAck.getLong("ts")).isEqualTo(byId.get(last).getLong("ts"));
  }

  @Test
  @DisplayName(
      "a send repeated with the same id on a new connection to the other node gets the same ack"
          + " and is delivered once")
  void deduplicatesAcrossNodes() {
    String room = room();
    String dave = user("dave");
    ChatPeer first = cluster.connect(cluster.a(), dave);
    ChatPeer observer = cluster.connect(cluster.b(), user("erin"));
    first.join(room);
    observer.join(room);

    String id = id();
    JsonObject ack = first.say(room, id, "only once");
    assertThat(ack.getString("type")).isEqualTo("ack");

    ChatPeer second = cluster.connect(cluster.b(), dave);
    assertThat(second.join(room).getLong("seq")).isEqualTo(ack.getLong("seq"));
    assertThat(second.say(room, id, "only once")).isEqualTo(ack);
    assertThat(second.say(room, id, "only once")).as("and again").isEqualTo(ack);

    JsonObject next = second.say(room, id(), "after the repeats");
    assertThat(next.getLong("seq")).isEqualTo(ack.getLong("seq") + 1);
    for (ChatPeer peer : List.of(first, observer, second)) {
      peer.awaitSeq(room, next.getLong("seq"));
      assertThat(peer.messages(room))
          .as(peer + "'s messages")
          .extracting(m -> m.getString("id"), m -> m.getLong("seq"))
          .containsExactly(
              tuple(id, ack.getLong("seq")), tuple(next.getString("id"), next.getLong("seq")));
    }
  }

  @Test
  @DisplayName(
      "a send to a room not joined is answered not_joined with its id, and the connection stays usable")
  void sendWithoutJoin() {
    String room = room();
    ChatPeer peer = cluster.connect(cluster.a(), user("frank"));
    String id = id();

    JsonObject error = peer.say(room, id, "anyone?");

    assertThat(error.getString("type")).isEqualTo("error");
    assertThat(error.getString("code")).isEqualTo("not_joined");
    assertThat(error.getString("id")).isEqualTo(id);
    peer.join(room);
    assertThat(peer.say(room, id(), "now joined").getString("type")).isEqualTo("ack");
    assertThat(peer.isClosed()).isFalse();
  }

  @Test
  @DisplayName(
      "invalid frames are answered bad_request (with the id of a send or dm) and the connection stays open")
  void invalidFrames() {
    String room = room();
    ChatPeer peer = cluster.connect(cluster.b(), user("grace"));
    peer.join(room);

    peer.sendText("{\"type\":\"send\",");
    assertBadRequest(peer, null);
    peer.sendText("[1,2,3]");
    assertBadRequest(peer, null);
    peer.send(new JsonObject().put("type", "shout").put("room", room));
    assertBadRequest(peer, null);
    peer.send(new JsonObject().put("room", room));
    assertBadRequest(peer, null);
    peer.send(ClientFrames.join("no spaces allowed"));
    assertBadRequest(peer, null);
    peer.send(ClientFrames.ack(room, -1));
    assertBadRequest(peer, null);

    String blank = id();
    peer.post(room, blank, "   ");
    assertBadRequest(peer, blank);
    String badRoom = id();
    peer.post("bad/room", badRoom, "hi");
    assertBadRequest(peer, badRoom);
    String noText = id();
    peer.send(new JsonObject().put("type", "send").put("room", room).put("id", noText));
    assertBadRequest(peer, noText);
    String tooLong = id();
    peer.post(room, tooLong, "x".repeat(4001));
    assertBadRequest(peer, tooLong);
    String dmNoTo = id();
    peer.send(new JsonObject().put("type", "dm").put("id", dmNoTo).put("text", "hi"));
    assertBadRequest(peer, dmNoTo);

    peer.pingPong();
    JsonObject ack = peer.say(room, id(), "still here");
    assertThat(ack.getString("type")).isEqualTo("ack");
    assertThat(ack.getLong("seq")).as("no invalid send was stored").isEqualTo(1L);
    assertThat(peer.isClosed()).isFalse();
  }

  private static void assertBadRequest(ChatPeer peer, String id) {
    JsonObject error = peer.claim(f -> "error".equals(f.getString("type")), "error");
    assertThat(error.getString("code")).as(error.encode()).isEqualTo("bad_request");
    assertThat(error.getString("message")).isNotBlank();
    assertThat(error.getString("id")).as(error.encode()).isEqualTo(id);
  }

  @Test
  @DisplayName("leave answers left, and the connection gets no more messages of that room")
  void leave() {
    String room = room();
    ChatPeer leaver = cluster.connect(cluster.b(), user("heidi"));
    ChatPeer observer = cluster.connect(cluster.b(), user("ivan"));
    ChatPeer sender = cluster.connect(cluster.a(), user("judy"));
    for (ChatPeer peer : List.of(leaver, observer, sender)) {
      peer.join(room);
    }
    long before = sender.say(room, id(), "before").getLong("seq");
    leaver.awaitSeq(room, before);

    leaver.send(ClientFrames.leave(room));
    JsonObject left = leaver.claim(f -> "left".equals(f.getString("type")), "left");
    assertThat(left).isEqualTo(new JsonObject().put("type", "left").put("room", room));

    long after = sender.say(room, id(), "after").getLong("seq");
    observer.awaitSeq(room, after);
    // the observer on the leaver's node has the message, so the leaver would have it by now too
    leaver.settle(Duration.ofMillis(300));
    assertThat(leaver.messages(room)).extracting(m -> m.getLong("seq")).containsExactly(before);
    JsonObject error = leaver.say(room, id(), "still here?");
    assertThat(error.getString("code")).isEqualTo("not_joined");
  }
}
