package dev.chat.it;

import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.Jwts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The v1.1 frames (older history, typing, read receipts, edit and delete) through real WebSocket
 * clients, run on two Redis nodes ({@link ChatFeaturesIT}) and on one embedded node ({@link
 * EmbeddedChatFeaturesIT}). Clients connect with HS256 tokens, so a token's {@code roles} can make
 * a moderator.
 */
abstract class ChatFeatures {

  static final String SECRET = "chat-features-it-secret-of-at-least-32-bytes!";
  static final int HISTORY_MAX = 8;
  static final int READ_MAX_ONLINE = 2;

  /** The settings both runs share. */
  static final Map<String, String> ENV =
      Map.of(
          "CHAT_AUTH",
          "jwt",
          "CHAT_JWT_SECRET",
          SECRET,
          "CHAT_HISTORY_MAX",
          Integer.toString(HISTORY_MAX),
          "CHAT_HISTORY_ON_JOIN",
          Integer.toString(HISTORY_MAX),
          "CHAT_READ_MAX_ONLINE",
          Integer.toString(READ_MAX_ONLINE));

  abstract ChatCluster cluster();

  /** The node the writers use. */
  abstract ChatNode a();

  /** The node the readers use: another node on Redis, the same one embedded. */
  abstract ChatNode b();

  private ChatPeer connect(ChatNode node, String user, String... roles) {
    JsonObject claims = Jwts.claims(user, Duration.ofMinutes(10));
    if (roles.length > 0) {
      claims.put("roles", new JsonArray(List.of((Object[]) roles)));
    }
    URI uri =
        URI.create("ws://127.0.0.1:" + node.port() + "/ws?token=" + Jwts.hs256(SECRET, claims));
    return cluster().track(ChatPeer.connect(node, uri, true));
  }

  private static JsonObject frame(String type, String room) {
    return new JsonObject().put("type", type).put("room", room);
  }

  private static JsonObject error(ChatPeer peer, String code) {
    return peer.claim(
        f -> "error".equals(f.getString("type")) && code.equals(f.getString("code")),
        code + " error");
  }

  private static JsonObject answer(ChatPeer peer, JsonObject frame) {
    peer.send(frame);
    return peer.answer(frame.getString("id"));
  }

  private static JsonObject edit(String room, long seq, String id, String text) {
    return frame("edit", room).put("seq", seq).put("id", id).put("text", text);
  }

  private static JsonObject delete(String room, long seq, String id) {
    return frame("delete", room).put("seq", seq).put("id", id);
  }

  private static List<Long> seqs(JsonArray messages) {
    return messages.stream().map(m -> ((JsonObject) m).getLong("seq")).toList();
  }

  @Test
  @DisplayName(
      "history pages back oldest first with more, from the newest or below before; a non-member"
          + " gets not_joined and a limit out of 1-100 bad_request")
  void historyPaging() {
    String r = room();
    ChatPeer alice = connect(a(), user("alice"));
    ChatPeer bob = connect(b(), user("bob"));
    alice.join(r);
    for (int i = 1; i <= 5; i++) {
      alice.say(r, id(), "m" + i);
    }
    ChatPeer stranger = connect(b(), user("carol"));
    stranger.send(frame("history", r));
    assertThat(error(stranger, "not_joined").containsKey("id")).isFalse();

    JsonObject joined = bob.join(r);
    bob.send(frame("history", r).put("limit", 2));
    JsonObject newest = bob.claim(f -> "history".equals(f.getString("type")), "history");
    assertThat(newest.getString("epoch")).isEqualTo(joined.getString("epoch"));
    assertThat(seqs(newest.getJsonArray("messages"))).containsExactly(4L, 5L);
    assertThat(newest.getJsonArray("messages").getJsonObject(0).getString("text")).isEqualTo("m4");
    assertThat(newest.getBoolean("more")).isTrue();

    bob.send(frame("history", r).put("before", 4).put("limit", 2));
    JsonObject older = bob.claim(f -> "history".equals(f.getString("type")), "history");
    assertThat(older.getLong("before")).isEqualTo(4L);
    assertThat(seqs(older.getJsonArray("messages"))).containsExactly(2L, 3L);
    assertThat(older.getBoolean("more")).isTrue();

    bob.send(frame("history", r).put("before", 2));
    JsonObject oldest = bob.claim(f -> "history".equals(f.getString("type")), "history");
    assertThat(seqs(oldest.getJsonArray("messages"))).containsExactly(1L);
    assertThat(oldest.getBoolean("more")).isFalse();

    bob.send(frame("history", r).put("limit", 101));
    assertThat(error(bob, "bad_request").getString("message")).contains("limit");
    bob.send(frame("history", r).put("limit", 0));
    assertThat(error(bob, "bad_request").getString("message")).contains("limit");
    bob.pingPong();
  }

  @Test
  @DisplayName(
      "typing reaches the other members on every node, not the typist's own connections, at most"
          + " once a second per user and room")
  void typing() {
    String r = room();
    String aliceId = user("alice");
    ChatPeer alice = connect(a(), aliceId);
    ChatPeer aliceElsewhere = connect(b(), aliceId);
    ChatPeer bob = connect(b(), user("bob"));
    for (ChatPeer p : List.of(alice, aliceElsewhere, bob)) {
      p.join(r);
    }
    for (int i = 0; i < 5; i++) {
      alice.send(frame("typing", r));
    }
    // A message sent after the burst arrives after whatever of it was forwarded.
    JsonObject ack = alice.say(r, id(), "after the burst");
    bob.awaitSeq(r, ack.getLong("seq"));
    aliceElsewhere.awaitSeq(r, ack.getLong("seq"));
    List<JsonObject> typed =
        bob.received().stream().filter(f -> "typing".equals(f.getString("type"))).toList();
    assertThat(typed).hasSize(1);
    assertThat(bob.claim(f -> "typing".equals(f.getString("type")), "typing"))
        .isEqualTo(new JsonObject().put("type", "typing").put("room", r).put("user", aliceId));
    assertThat(aliceElsewhere.received()).noneMatch(f -> "typing".equals(f.getString("type")));
    assertThat(alice.received()).noneMatch(f -> "typing".equals(f.getString("type")));

    // A second later the window is over and the next one goes through.
    long until = System.nanoTime() + Duration.ofMillis(1100).toNanos();
    while (System.nanoTime() < until) {
      alice.settle(Duration.ofMillis(100));
    }
    alice.send(frame("typing", r));
    assertThat(bob.claim(f -> "typing".equals(f.getString("type")), "a second typing"))
        .isEqualTo(typed.get(0));

    ChatPeer stranger = connect(a(), user("carol"));
    stranger.send(frame("typing", r));
    error(stranger, "not_joined");
  }

  @Test
  @DisplayName(
      "a read receipt reaches every member, the reader's other devices included; positions only"
          + " move forward and a later joined carries them")
  void readReceipts() {
    String r = room();
    String aliceId = user("alice");
    String bobId = user("bob");
    ChatPeer alice = connect(a(), aliceId);
    ChatPeer aliceElsewhere = connect(b(), aliceId);
    ChatPeer bob = connect(b(), bobId);
    for (ChatPeer p : List.of(alice, aliceElsewhere, bob)) {
      p.join(r);
    }
    for (int i = 1; i <= 3; i++) {
      bob.say(r, id(), "m" + i);
    }
    alice.send(frame("read", r).put("seq", 2));
    alice.send(frame("read", r).put("seq", 1)); // backwards: ignored
    alice.send(frame("read", r).put("seq", 99)); // beyond the head: capped at 3
    for (ChatPeer p : List.of(aliceElsewhere, bob, alice)) {
      JsonObject first = p.claim(f -> "read".equals(f.getString("type")), "read");
      assertThat(first)
          .isEqualTo(
              new JsonObject()
                  .put("type", "read")
                  .put("room", r)
                  .put("user", aliceId)
                  .put("seq", 2));
      JsonObject second = p.claim(f -> "read".equals(f.getString("type")), "second read");
      assertThat(second.getLong("seq")).isEqualTo(3L);
    }
    JsonObject joined = connect(b(), aliceId).join(r);
    assertThat(joined.getJsonObject("read").getLong(aliceId)).isEqualTo(3L);
    assertThat(joined.getJsonObject("read").containsKey(bobId)).isFalse();

    ChatPeer stranger = connect(a(), user("carol"));
    stranger.send(frame("read", r).put("seq", 1));
    error(stranger, "not_joined");
  }

  @Test
  @DisplayName(
      "reading a dm in one's inbox tells the sender 'seen' in the sender's inbox with the seq of"
          + " the sender's own copy, live and in a later joined")
  void dmSeen() {
    String aliceId = user("alice");
    String bobId = user("bob");
    ChatPeer alice = connect(a(), aliceId);
    ChatPeer bob = connect(b(), bobId);
    alice.join("@" + aliceId);
    bob.join("@" + bobId);
    // Moves alice's own inbox ahead of bob's, so the two seqs differ.
    alice.dm(aliceId, id(), "a note to self");
    JsonObject ack = alice.dm(bobId, id(), "hi bob");
    assertThat(ack.getLong("seq")).isEqualTo(2L);
    bob.awaitSeq("@" + bobId, 1);
    long bobsSeq = bob.messages("@" + bobId).get(0).getLong("seq");
    assertThat(bobsSeq).isEqualTo(1L);

    bob.send(frame("read", "@" + bobId).put("seq", bobsSeq));
    JsonObject own = bob.claim(f -> "read".equals(f.getString("type")), "own read");
    assertThat(own.getString("room")).isEqualTo("@" + bobId);
    JsonObject seen = alice.claim(f -> "read".equals(f.getString("type")), "seen");
    assertThat(seen)
        .isEqualTo(
            new JsonObject()
                .put("type", "read")
                .put("room", "@" + aliceId)
                .put("user", bobId)
                .put("seq", ack.getLong("seq")));

    JsonObject joined = connect(b(), aliceId).join("@" + aliceId);
    assertThat(joined.getJsonObject("read").getLong(bobId)).isEqualTo(ack.getLong("seq"));
  }

  @Test
  @DisplayName(
      "an edit and a delete are new stream entries in seq order with acks and dedup, replayed on"
          + " resume across them")
  void editsInTheStream() {
    String r = room();
    String aliceId = user("alice");
    ChatPeer alice = connect(a(), aliceId);
    ChatPeer bob = connect(b(), user("bob"));
    alice.join(r);
    JsonObject bobJoined = bob.join(r);
    long first = alice.say(r, id(), "helo").getLong("seq");
    bob.awaitSeq(r, first);
    bob.close();

    String editId = id();
    JsonObject edited = answer(alice, edit(r, first, editId, "hello"));
    assertThat(edited.getString("type")).as(edited.encode()).isEqualTo("ack");
    assertThat(edited.getLong("seq")).isEqualTo(first + 1);
    assertThat(answer(alice, edit(r, first, editId, "hello")).getLong("seq"))
        .as("a repeated edit id gets the same ack")
        .isEqualTo(first + 1);
    JsonObject deleted = answer(alice, delete(r, first, id()));
    assertThat(deleted.getLong("seq")).isEqualTo(first + 2);

    ChatPeer back = connect(b(), user("bob"));
    JsonObject resumed = back.resume(r, bobJoined.getString("epoch"), first);
    assertThat(resumed.getBoolean("recovered")).isTrue();
    List<JsonObject> replay = back.awaitMessages(r, 2);
    assertThat(replay.get(0).getLong("seq")).isEqualTo(first + 1);
    assertThat(replay.get(0).getLong("edits")).isEqualTo(first);
    assertThat(replay.get(0).getString("text")).isEqualTo("hello");
    assertThat(replay.get(0).getString("from")).isEqualTo(aliceId);
    assertThat(replay.get(0).getString("id")).isEqualTo(editId);
    assertThat(replay.get(1).getLong("seq")).isEqualTo(first + 2);
    assertThat(replay.get(1).getLong("deletes")).isEqualTo(first);
    assertThat(replay.get(1).containsKey("text")).isFalse();
    // Live too, in the same order: the author's own connection gets both changes.
    alice.awaitSeq(r, first + 2);
    assertThat(alice.messages(r))
        .extracting(m -> m.getLong("seq"))
        .containsExactly(first, first + 1, first + 2);
  }

  @Test
  @DisplayName(
      "editing or deleting another's message is forbidden, a moderator may delete it but not edit"
          + " it, and a seq that names no stored message is a bad_request; every error has the id")
  void whoMayChangeWhat() {
    String r = room();
    ChatPeer alice = connect(a(), user("alice"));
    ChatPeer bob = connect(b(), user("bob"));
    ChatPeer mod = connect(b(), user("mod"), "moderator");
    for (ChatPeer p : List.of(alice, bob, mod)) {
      p.join(r);
    }
    long target = alice.say(r, id(), "mine").getLong("seq");

    for (JsonObject attempt :
        List.of(
            edit(r, target, id(), "yours now"),
            delete(r, target, id()),
            edit(r, target + 100, id(), "nothing there"))) {
      JsonObject err = answer(bob, attempt);
      assertThat(err.getString("type")).as(err.encode()).isEqualTo("error");
      assertThat(err.getString("id")).isEqualTo(attempt.getString("id"));
      assertThat(err.getString("code"))
          .isEqualTo(attempt.getLong("seq") == target ? "forbidden" : "bad_request");
    }
    JsonObject modEdit = answer(mod, edit(r, target, id(), "moderated"));
    assertThat(modEdit.getString("code")).as(modEdit.encode()).isEqualTo("forbidden");
    JsonObject modDelete = answer(mod, delete(r, target, id()));
    assertThat(modDelete.getString("type")).as(modDelete.encode()).isEqualTo("ack");
    alice.awaitSeq(r, modDelete.getLong("seq"));
    JsonObject applied = alice.messages(r).get(alice.messages(r).size() - 1);
    assertThat(applied.getLong("deletes")).isEqualTo(target);
    assertThat(applied.getString("from")).isEqualTo(mod.user());

    // A change of a change names no message.
    JsonObject again = answer(alice, edit(r, modDelete.getLong("seq"), id(), "x"));
    assertThat(again.getString("code")).as(again.encode()).isEqualTo("bad_request");
    // A bad frame is refused by the codec with its id.
    JsonObject noSeq = frame("delete", r).put("id", id());
    assertThat(answer(alice, noSeq).getString("code")).isEqualTo("bad_request");

    ChatPeer stranger = connect(a(), user("carol"));
    JsonObject outside = answer(stranger, delete(r, target, id()));
    assertThat(outside.getString("code")).isEqualTo("not_joined");
  }

  @Test
  @DisplayName("deleting a message already trimmed from history is a bad_request")
  void deleteOfTrimmed() {
    String r = room();
    ChatPeer alice = connect(a(), user("alice"));
    alice.join(r);
    long first = alice.say(r, id(), "soon gone").getLong("seq");
    for (int i = 0; i < HISTORY_MAX; i++) {
      alice.say(r, id(), "filler " + i);
    }
    JsonObject err = answer(alice, delete(r, first, id()));
    assertThat(err.getString("code")).as(err.encode()).isEqualTo("bad_request");
    assertThat(err.getString("message")).contains("trimmed");
    // the next one is still stored
    assertThat(answer(alice, delete(r, first + 1, id())).getString("type")).isEqualTo("ack");
  }

  @Test
  @DisplayName(
      "editing a message already deleted, by its author or a moderator, is a bad_request with the"
          + " id, and stores nothing; a repeat of the delete's id still gets its ack")
  void editOfDeleted() {
    String r = room();
    ChatPeer alice = connect(a(), user("alice"));
    ChatPeer mod = connect(b(), user("mod"), "moderator");
    alice.join(r);
    mod.join(r);
    long own = alice.say(r, id(), "regretted").getLong("seq");
    long other = alice.say(r, id(), "moderated").getLong("seq");
    JsonObject byAuthor = delete(r, own, id());
    long deleted = answer(alice, byAuthor).getLong("seq");
    long moderated = answer(mod, delete(r, other, id())).getLong("seq");
    alice.awaitSeq(r, moderated);

    for (long target : List.of(own, other)) {
      JsonObject attempt = edit(r, target, id(), "after all");
      JsonObject err = answer(alice, attempt);
      assertThat(err.getString("type")).as(err.encode()).isEqualTo("error");
      assertThat(err.getString("code")).isEqualTo("bad_request");
      assertThat(err.getString("id")).isEqualTo(attempt.getString("id"));
      assertThat(err.getString("message")).contains("deleted");
    }
    assertThat(answer(alice, byAuthor).getLong("seq")).isEqualTo(deleted);
    // Nothing was stored for the refused edits: the next message takes the next seq.
    assertThat(alice.say(r, id(), "next").getLong("seq")).isEqualTo(moderated + 1);
  }

  @Test
  @DisplayName(
      "in a room with more users online than CHAT_READ_MAX_ONLINE a read receipt reaches only the"
          + " reader's own connections, on every node")
  void readReceiptsInBigRooms() {
    String r = room();
    String aliceId = user("alice");
    ChatPeer alice = connect(a(), aliceId);
    ChatPeer aliceElsewhere = connect(b(), aliceId);
    ChatPeer bob = connect(b(), user("bob"));
    ChatPeer carol = connect(a(), user("carol"));
    for (ChatPeer p : List.of(alice, aliceElsewhere, bob)) {
      p.join(r);
    }
    assertThat(carol.join(r).getInteger("online")).isGreaterThan(READ_MAX_ONLINE);
    long seq = bob.say(r, id(), "read me").getLong("seq");
    alice.awaitSeq(r, seq);
    alice.send(frame("read", r).put("seq", seq));
    JsonObject expected =
        new JsonObject().put("type", "read").put("room", r).put("user", aliceId).put("seq", seq);
    assertThat(alice.claim(f -> "read".equals(f.getString("type")), "own read"))
        .isEqualTo(expected);
    assertThat(aliceElsewhere.claim(f -> "read".equals(f.getString("type")), "read elsewhere"))
        .isEqualTo(expected);
    // A message published after the receipt, on the same channel, arrives after it would have.
    long fence = alice.say(r, id(), "fence").getLong("seq");
    for (ChatPeer other : List.of(bob, carol)) {
      other.awaitSeq(r, fence);
      assertThat(other.received()).noneMatch(f -> "read".equals(f.getString("type")));
    }
  }
}
