package dev.chat.session;

import static dev.chat.session.SessionHarness.randomRoom;
import static dev.chat.session.SessionHarness.randomUser;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.ReadRequest;
import dev.chat.broker.Snapshot;
import dev.chat.protocol.CloseCode;
import dev.chat.protocol.ServerFrames;
import dev.chat.session.RecordingOutbound.Event;
import dev.chat.session.SessionHarness.Client;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The session's protocol logic, driven frame by frame on its event loop, without a socket. */
@DisplayName("A session")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionTest {

  @RegisterExtension final SessionHarnesses harnesses = new SessionHarnesses();
  private SessionHarness h;

  private SessionHarness harness(Map<String, String> env) {
    h = harnesses.open(env);
    return h;
  }

  private SessionHarness harness() {
    return harness(Map.of());
  }

  private static JsonObject frame(String type) {
    return new JsonObject().put("type", type);
  }

  @Test
  @DisplayName("welcomes the client with its identity, node and timings")
  void welcome() {
    harness(
        Map.of(
            "CHAT_HEARTBEAT_INTERVAL_MS",
            "25000",
            "CHAT_HEARTBEAT_TIMEOUT_MS",
            "60000",
            "CHAT_ACK_TIMEOUT_MS",
            "5000"));
    String alice = randomUser("alice");
    Client c = h.connect(alice);

    JsonObject welcome = c.out.events().get(0).frame();
    assertThat(welcome.getString("type")).isEqualTo("welcome");
    assertThat(welcome.getString("user")).isEqualTo(alice);
    assertThat(welcome.getString("connId")).isEqualTo(c.session.connId());
    assertThat(welcome.getString("node")).isEqualTo("unit-node");
    assertThat(welcome.getJsonObject("heartbeat"))
        .isEqualTo(new JsonObject().put("intervalMs", 25000).put("timeoutMs", 60000));
    assertThat(welcome.getLong("ackTimeoutMs")).isEqualTo(5000L);
  }

  @Test
  @DisplayName(
      "answers a join with the room's state followed by its history, and resumes from since")
  void joinReplays() {
    harness();
    String room = randomRoom();
    for (int i = 1; i <= 3; i++) {
      h.publish(room, "carol", "m" + i);
    }
    String alice = randomUser("alice");
    Client c = h.connect(alice);
    int mark = c.out.mark();

    JsonObject joined = c.join(room);
    c.out.await("message", room, 3);

    assertThat(joined.getString("room")).isEqualTo(room);
    assertThat(joined.getLong("seq")).isEqualTo(3L);
    assertThat(joined.getInteger("online")).isEqualTo(1);
    assertThat(joined.getJsonArray("users")).isEqualTo(new JsonArray().add(alice));
    assertThat(joined.getBoolean("recovered")).isFalse();
    List<Event> after = c.out.since(mark);
    assertThat(after)
        .extracting(e -> e.frame().getString("type"))
        .containsExactly("joined", "message", "message", "message");
    assertThat(after.subList(1, 4))
        .extracting(e -> e.frame().getString("text"))
        .containsExactly("m1", "m2", "m3");

    Client again = h.connect(alice);
    int mark2 = again.out.mark();
    again.send(
        frame("join").put("room", room).put("epoch", joined.getString("epoch")).put("since", 1));
    again.out.await("message", room, 3);
    List<Event> resumed = again.out.since(mark2);
    assertThat(resumed.get(0).frame().getBoolean("recovered")).isTrue();
    assertThat(resumed).extracting(e -> e.frame().getLong("seq")).containsExactly(3L, 2L, 3L);
  }

  @Test
  @DisplayName("lets a user join their own inbox but not another user's")
  void inboxes() {
    harness();
    String alice = randomUser("alice");
    Client c = h.connect(alice);

    c.send(frame("join").put("room", "@bob"));
    JsonObject error = c.out.await("error");
    assertThat(error.getString("code")).isEqualTo("forbidden");
    assertThat(c.join("@" + alice).getString("room")).isEqualTo("@" + alice);
    assertThat(c.out.frames("joined")).hasSize(1);
  }

  @Test
  @DisplayName("refuses a send to a room it has not joined, naming the send's id")
  void sendWithoutJoin() {
    harness();
    Client c = h.connect(randomUser("alice"));

    c.say(randomRoom(), "k-1", "hello");

    JsonObject error = c.out.await("error");
    assertThat(error.getString("code")).isEqualTo("not_joined");
    assertThat(error.getString("id")).isEqualTo("k-1");
    assertThat(c.out.frames("ack")).isEmpty();
  }

  @Test
  @DisplayName("acks a send once it is stored and delivers it to every member, the sender included")
  void sendAcksAndDelivers() {
    harness();
    String room = randomRoom();
    Client alice = h.connect(randomUser("alice"));
    Client bob = h.connect(randomUser("bob"));
    alice.join(room);
    bob.join(room);

    alice.say(room, "k-1", "hello");

    JsonObject ack = alice.out.await("ack");
    assertThat(ack.getString("id")).isEqualTo("k-1");
    assertThat(ack.getString("room")).isEqualTo(room);
    assertThat(ack.getLong("seq")).isEqualTo(1L);
    for (Client c : List.of(alice, bob)) {
      JsonObject m = c.out.await("message", room, 1);
      assertThat(m.getString("id")).isEqualTo("k-1");
      assertThat(m.getString("from")).isEqualTo(alice.user);
      assertThat(m.getString("text")).isEqualTo("hello");
      assertThat(m.getLong("ts")).isEqualTo(ack.getLong("ts"));
    }
    // The ack's seq is the stored message's: a later joiner reads exactly it from history.
    Client carol = h.connect(randomUser("carol"));
    carol.join(room);
    assertThat(carol.out.await("message", room, 1).getString("id")).isEqualTo("k-1");
  }

  @Test
  @DisplayName("answers a repeated send id with the same ack and stores the message once")
  void dedup() {
    harness();
    String room = randomRoom();
    Client alice = h.joined("alice", room);

    alice.say(room, "k-1", "hello");
    alice.say(room, "k-1", "hello");
    alice.say(room, "k-2", "again");
    alice.out.await("message", room, 2);

    List<JsonObject> acks = alice.out.frames("ack");
    assertThat(acks).hasSize(3);
    assertThat(acks.get(1)).isEqualTo(acks.get(0));
    assertThat(acks.get(2).getLong("seq")).isEqualTo(2L);
    assertThat(alice.seqs(room)).containsExactly(1L, 2L);
  }

  @Test
  @DisplayName("stores a direct message in both inboxes and acks it from the sender's")
  void directMessage() {
    harness();
    Client alice = h.connect(randomUser("alice"));
    Client bob = h.connect(randomUser("bob"));
    String aliceInbox = "@" + alice.user;
    String bobInbox = "@" + bob.user;
    alice.join(aliceInbox);
    bob.join(bobInbox);

    alice.send(frame("dm").put("to", bob.user).put("id", "d-1").put("text", "hi bob"));

    JsonObject ack = alice.out.await("ack");
    assertThat(ack.getString("room")).isEqualTo(aliceInbox);
    assertThat(ack.getLong("seq")).isEqualTo(1L);
    JsonObject theirs = bob.out.await("message", bobInbox, 1);
    JsonObject mine = alice.out.await("message", aliceInbox, 1);
    for (JsonObject m : List.of(theirs, mine)) {
      assertThat(m.getString("from")).isEqualTo(alice.user);
      assertThat(m.getString("to")).isEqualTo(bob.user);
      assertThat(m.getString("text")).isEqualTo("hi bob");
      assertThat(m.getString("id")).isEqualTo("d-1");
    }
  }

  @Test
  @DisplayName("stores a direct message to oneself once, in one's own inbox")
  void directMessageToSelf() {
    harness();
    Client alice = h.connect(randomUser("alice"));
    String inbox = "@" + alice.user;
    alice.join(inbox);

    alice.send(frame("dm").put("to", alice.user).put("id", "d-1").put("text", "note to self"));
    alice.send(frame("dm").put("to", alice.user).put("id", "d-2").put("text", "another"));
    alice.out.await("message", inbox, 2);

    assertThat(alice.out.frames("ack"))
        .extracting(a -> a.getString("room") + "#" + a.getLong("seq"))
        .containsExactly(inbox + "#1", inbox + "#2");
    assertThat(alice.seqs(inbox)).containsExactly(1L, 2L);
    assertThat(alice.out.frames("message").get(0).getString("to")).isEqualTo(alice.user);
  }

  @Test
  @DisplayName("confirms a leave, stops delivering the room, and refuses a second leave")
  void leave() {
    harness();
    String room = randomRoom();
    Client alice = h.joined("alice", room);

    alice.send(frame("leave").put("room", room));
    assertThat(alice.out.await("left").getString("room")).isEqualTo(room);
    h.publish(room, "carol", "after the leave");
    alice.send(frame("leave").put("room", room));

    JsonObject error = alice.out.await("error");
    assertThat(error.getString("code")).isEqualTo("not_joined");
    assertThat(alice.out.frames("message")).isEmpty();
    assertThat(h.hubRooms()).isZero();
  }

  @Test
  @DisplayName("forgets every message up to an acknowledged seq, making room for more")
  void cumulativeAck() {
    harness(Map.of("CHAT_MAX_PENDING_ACKS", "3"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    h.publishMany(room, 3);
    alice.out.await("message", room, 3);

    alice.ack(room, 3);
    h.publishMany(room, 3);
    alice.out.await("message", room, 6);
    alice.ack(room, 5);
    h.publishMany(room, 2);
    alice.roundTrip();
    assertThat(alice.out.closes()).isEmpty();

    h.publish(room, "carol", "one too many");
    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.UNACKED);
    assertThat(alice.seqs(room)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
  }

  @Test
  @DisplayName("redelivers only the messages after the acknowledged seq")
  void partialAckRedelivers() {
    harness(Map.of("CHAT_ACK_TIMEOUT_MS", "100", "CHAT_MAX_REDELIVERIES", "5"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    h.publishMany(room, 3);
    alice.out.await("message", room, 3);

    alice.ack(room, 2);
    int acked = alice.out.mark();
    // Two rounds after the ack: the second comes well after every message was due.
    List<Event> redelivered =
        alice.out.awaitEvents(acked, SessionTest::redelivered, 2, "redeliveries");

    assertThat(redelivered).extracting(e -> e.frame().getLong("seq")).containsOnly(3L);
  }

  @Test
  @DisplayName("redelivers an unacknowledged message at growing intervals, then closes with 4001")
  void redeliveryBacksOff() {
    long ackTimeout = 50;
    harness(Map.of("CHAT_ACK_TIMEOUT_MS", Long.toString(ackTimeout), "CHAT_MAX_REDELIVERIES", "3"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    int mark = alice.out.mark();

    h.publish(room, "carol", "are you there?");
    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.UNACKED);

    List<Event> events = alice.out.since(mark);
    assertThat(events).hasSize(5);
    JsonObject original = events.get(0).frame();
    for (Event e : events.subList(1, 4)) {
      JsonObject copy = e.frame().copy();
      assertThat(copy.remove("redelivered")).isEqualTo(true);
      assertThat(copy).isEqualTo(original);
    }
    assertThat(events.get(4).close()).isEqualTo(CloseCode.UNACKED);
    assertThat(h.count("chat.redeliveries")).isEqualTo(3);
    assertThat(h.count("chat.closes", "code", "4001")).isEqualTo(1);
    long[] gapsMs = new long[4];
    for (int i = 0; i < 4; i++) {
      gapsMs[i] = (events.get(i + 1).nanos() - events.get(i).nanos()) / 1_000_000;
    }
    // The waits double: at least ackTimeout, 2x, 4x, 8x (less clock rounding). Only lower bounds,
    // since a busy machine can only make a wait longer.
    for (int i = 0; i < 4; i++) {
      assertThat(gapsMs[i])
          .as("gap %d of %s", i, Arrays.toString(gapsMs))
          .isGreaterThanOrEqualTo((ackTimeout << i) - 2);
    }
    assertNothingAfterClose(alice, 4 * ackTimeout);
  }

  @Test
  @DisplayName(
      "redelivers a new message after the ack timeout even while an older one waits longer")
  void newMessageIsNotHeldBackByAnOlderOnesBackoff() {
    long ackTimeout = 100;
    harness(Map.of("CHAT_ACK_TIMEOUT_MS", Long.toString(ackTimeout), "CHAT_MAX_REDELIVERIES", "6"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    h.publish(room, "carol", "old");
    // After its third redelivery the old message is next due 8 x ackTimeout later.
    alice.out.awaitEvents(SessionTest::redelivered, 3, "redeliveries of the old message");

    h.publish(room, "carol", "new");
    Event sent =
        alice
            .out
            .awaitEvents(e -> e.isFrame("message") && e.frame().getLong("seq") == 2, 1, "new")
            .get(0);
    Event again =
        alice
            .out
            .awaitEvents(
                e -> redelivered(e) && e.frame().getLong("seq") == 2,
                1,
                "redelivery of the new message")
            .get(0);

    // Due ackTimeout after it was sent; held back by the old message's timer it came 8 x ackTimeout
    // later.
    assertThat((again.nanos() - sent.nanos()) / 1_000_000).isLessThan(5 * ackTimeout);
  }

  @Test
  @DisplayName("closes with 4001 when one more message would exceed the unacknowledged limit")
  void pendingLimit() {
    harness(Map.of("CHAT_MAX_PENDING_ACKS", "3"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    h.publishMany(room, 3);
    alice.roundTrip();
    assertThat(alice.seqs(room)).containsExactly(1L, 2L, 3L);
    assertThat(alice.out.closes()).isEmpty();

    h.publish(room, "carol", "one too many");

    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.UNACKED);
    assertThat(alice.seqs(room)).containsExactly(1L, 2L, 3L);
  }

  @Test
  @DisplayName("closes with 4001 instead of writing to a socket whose write queue is full")
  void writeQueueFull() {
    harness();
    String room = randomRoom();
    Client alice = h.joined("alice", room);

    alice.out.writeQueueFull(true);
    h.publish(room, "carol", "m");

    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.UNACKED);
    assertThat(alice.out.frames("message")).isEmpty();
  }

  @Test
  @DisplayName("answers bad frames with bad_request and closes with 1008 after more than 20")
  void badFrames() {
    harness();
    Client alice = h.connect(randomUser("alice"));

    alice.send("not json");
    alice.send(frame("send").put("room", "r").put("id", "k-1").put("text", " "));
    alice.send(frame("shout"));
    List<JsonObject> errors = alice.out.frames("error");
    assertThat(errors).extracting(e -> e.getString("code")).containsOnly("bad_request");
    assertThat(errors.get(0).containsKey("id")).isFalse();
    assertThat(errors.get(1).getString("id")).isEqualTo("k-1");
    assertThat(errors.get(2).getString("message")).contains("shout");
    for (int i = 3; i < 20; i++) {
      alice.send("{");
    }
    alice.roundTrip();
    assertThat(alice.out.closes()).isEmpty();

    alice.send("{");

    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.POLICY);
    assertThat(alice.out.frames("error")).hasSize(21);
  }

  @Test
  @DisplayName("refuses sends over the rate limit with rate_limited and a retry delay")
  void rateLimit() {
    harness(Map.of("CHAT_RATE_LIMIT_PER_SEC", "1", "CHAT_RATE_LIMIT_BURST", "2"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);

    alice.say(room, "k-1", "one");
    alice.send(frame("dm").put("to", alice.user).put("id", "k-2").put("text", "two"));
    alice.say(room, "k-3", "three");

    JsonObject error = alice.out.await("error");
    assertThat(error.getString("code")).isEqualTo("rate_limited");
    assertThat(error.getString("id")).isEqualTo("k-3");
    assertThat(error.getLong("retryAfterMs")).isBetween(1L, 1000L);
    alice.send(frame("dm").put("to", alice.user).put("id", "k-4").put("text", "four"));
    alice.roundTrip();
    assertThat(alice.out.frames("error"))
        .extracting(e -> e.getString("code") + " " + e.getString("id"))
        .containsExactly("rate_limited k-3", "rate_limited k-4");
    assertThat(alice.out.frames("ack"))
        .extracting(a -> a.getString("id"))
        .containsExactly("k-1", "k-2");
  }

  @Test
  @DisplayName("answers a ping with a pong")
  void pingPong() {
    harness();
    Client alice = h.connect(randomUser("alice"));

    alice.send("{\"type\":\"ping\"}");

    assertThat(alice.out.await("pong")).isEqualTo(frame("pong"));
  }

  @Test
  @DisplayName("pings every heartbeat interval")
  void heartbeatPings() {
    long interval = 40;
    harness(
        Map.of(
            "CHAT_HEARTBEAT_INTERVAL_MS",
            Long.toString(interval),
            "CHAT_HEARTBEAT_TIMEOUT_MS",
            "5000"));
    Client alice = h.connect(randomUser("alice"));

    List<Event> pings = alice.out.awaitPings(4);

    long previous = alice.out.events().get(0).nanos(); // the welcome
    for (Event ping : pings.subList(0, 4)) {
      assertThat((ping.nanos() - previous) / 1_000_000).isGreaterThanOrEqualTo(interval - 2);
      previous = ping.nanos();
    }
    assertThat(alice.out.closes()).isEmpty();
  }

  @Test
  @DisplayName(
      "closes a silent connection with 4000 after the heartbeat timeout, leaving its rooms")
  void heartbeatTimeout() {
    long timeout = 200;
    harness(
        Map.of(
            "CHAT_HEARTBEAT_INTERVAL_MS",
            "50",
            "CHAT_HEARTBEAT_TIMEOUT_MS",
            Long.toString(timeout)));
    String room = randomRoom();
    Client alice = h.connect(randomUser("alice"));
    JsonObject joined = alice.join(room);
    assertThat(joined.getJsonArray("users")).containsExactly(alice.user);
    // The join was alice's last activity; it happened just before her joined frame was written.
    long lastActivity =
        alice.out.events().stream()
            .filter(e -> e.isFrame("joined"))
            .findFirst()
            .orElseThrow()
            .nanos();

    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.HEARTBEAT_TIMEOUT);
    long closedAt = closeEvent(alice).nanos();
    assertThat((closedAt - lastActivity) / 1_000_000).isGreaterThanOrEqualTo(timeout - 2);
    // The session releases its rooms on the loop's next turn after writing the close.
    awaitUntil(() -> presentUsers(room).isEmpty() && h.hubRooms() == 0);
    assertThat(presentUsers(room)).isEmpty();
    assertThat(h.hubRooms()).isZero();
    assertNothingAfterClose(alice, 100);
  }

  private static void awaitUntil(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Who the store has present in {@code room}. */
  private List<String> presentUsers(String room) {
    return h.loop.await(() -> h.broker.read(room, ReadRequest.stateOnly())).users();
  }

  @Test
  @DisplayName("stays open while the client shows activity, and times out once it stops")
  void activityKeepsAlive() {
    // A timeout long enough that a loaded machine's pauses cannot starve the keep-alive timer.
    harness(Map.of("CHAT_HEARTBEAT_INTERVAL_MS", "50", "CHAT_HEARTBEAT_TIMEOUT_MS", "600"));
    Client alice = h.connect(randomUser("alice"));
    long keepAlive = keepAlive(alice, 20);

    // Eighteen pings take at least 900 ms: half as long again as the timeout.
    alice.out.awaitPings(18);
    assertThat(alice.out.closes()).isEmpty();

    h.loop.run(() -> h.loop.vertx().cancelTimer(keepAlive));
    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.HEARTBEAT_TIMEOUT);
  }

  @Test
  @DisplayName("cancels its heartbeat and redelivery timers and leaves its rooms when closed")
  void closeCancelsTimers() {
    Map<String, String> busy =
        Map.of(
            "CHAT_HEARTBEAT_INTERVAL_MS",
            "30",
            "CHAT_HEARTBEAT_TIMEOUT_MS",
            "5000",
            "CHAT_ACK_TIMEOUT_MS",
            "30",
            "CHAT_MAX_REDELIVERIES",
            "20");
    harness(busy);
    String room = randomRoom();
    Client alice = h.connect(randomUser("alice"));
    Client bob = h.connect(randomUser("bob"));
    alice.join(room);
    bob.join(room);
    h.publish(room, "carol", "unacked");
    for (Client c : List.of(alice, bob)) {
      c.out.awaitPings(1);
      c.out.awaitEvents(SessionTest::redelivered, 1, "a redelivery");
    }

    // alice is closed by the service (e.g. shutdown), bob's socket just goes away.
    h.loop.run(() -> alice.session.close(CloseCode.SHUTTING_DOWN));
    // alice's room release, a turn later, tells bob she left; only then is bob's socket gone.
    bob.out.awaitEvents(
        e -> e.isFrame("presence") && "leave".equals(e.frame().getString("event")),
        1,
        "alice's leave");
    int bobMark = bob.out.mark();
    h.loop.run(bob.session::onClosed);

    // A second close, and frames that arrive after the close, write nothing.
    h.loop.run(() -> alice.session.close(CloseCode.POLICY));
    alice.send("{\"type\":\"ping\"}");
    alice.send(frame("join").put("room", randomRoom()));
    // Ten heartbeat intervals and several redelivery rounds go by.
    assertNothingAfterClose(alice, 300);
    assertThat(alice.out.closes()).containsExactly(CloseCode.SHUTTING_DOWN);
    assertThat(bob.out.since(bobMark)).isEmpty();
    assertThat(h.hubRooms()).isZero();
  }

  @Test
  @DisplayName("forgets a room's unacknowledged messages when its view starts over")
  void joinedResetsPending() {
    harness(Map.of("CHAT_ACK_TIMEOUT_MS", "60", "CHAT_MAX_REDELIVERIES", "5"));
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    h.publish(room, "carol", "old one");
    h.publish(room, "carol", "old two");
    alice.out.await("message", room, 2);

    // What the hub does after the room's epoch changed: a new joined, then the new epoch's
    // messages.
    byte[] fresh = ServerFrames.message(room, 1, "new-1", "carol", "new", null, 1L);
    h.loop.run(
        () -> {
          alice.session.joined(
              room, new Snapshot("e-new", 0, List.of(), false, 1, List.of(alice.user), false));
          alice.session.deliver(room, 1, fresh);
        });
    int reset = alice.out.mark();

    // The old messages were due first; after the reset only the new one comes again, twice.
    List<Event> again = alice.out.awaitEvents(reset, SessionTest::redelivered, 2, "redeliveries");
    assertThat(again).extracting(e -> e.frame().getString("id")).containsOnly("new-1");
    JsonObject rejoined = alice.out.frames("joined").get(1);
    assertThat(rejoined.getString("epoch")).isEqualTo("e-new");
    assertThat(rejoined.getBoolean("recovered")).isFalse();
  }

  @Test
  @DisplayName(
      "counts joins, messages in and out, publishes, dedup hits, acks and closes in its metrics")
  void metrics() {
    harness();
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    Client bob = h.joined("bob", room);

    alice.say(room, "k-1", "hello");
    alice.say(room, "k-1", "hello");
    alice.send(frame("dm").put("to", bob.user).put("id", "d-1").put("text", "hi bob"));
    alice.out.awaitEvents(e -> e.isFrame("ack"), 3, "three acks");
    alice.out.await("message", room, 1);
    bob.out.await("message", room, 1);
    alice.ack(room, 1);
    alice.roundTrip();
    h.loop.run(() -> alice.session.close(CloseCode.SHUTTING_DOWN));

    assertThat(h.count("chat.joins")).isEqualTo(2);
    assertThat(h.count("chat.messages.in")).isEqualTo(3);
    assertThat(h.publishes()).isEqualTo(3);
    assertThat(h.count("chat.dedup.hits")).isEqualTo(1);
    // k-1 once to each member; the dm went to inboxes nobody joined.
    assertThat(h.count("chat.messages.out")).isEqualTo(2);
    assertThat(h.count("chat.acks")).isEqualTo(1);
    assertThat(h.count("chat.closes", "code", Integer.toString(CloseCode.SHUTTING_DOWN.code())))
        .isEqualTo(1);
    assertThat(h.count("chat.redeliveries")).isZero();
  }

  @Test
  @DisplayName(
      "joins at most CHAT_MAX_ROOMS_PER_CONNECTION rooms, and a room it is in may be joined again")
  void roomsPerConnection() {
    harness(Map.of("CHAT_MAX_ROOMS_PER_CONNECTION", "2"));
    String first = randomRoom();
    Client alice = h.joined("alice", first);
    alice.join(randomRoom());

    assertThat(alice.join(first).getString("room")).isEqualTo(first);
    alice.send(frame("join").put("room", randomRoom()));
    JsonObject error = alice.out.await("error");
    assertThat(error.getString("code")).isEqualTo("bad_request");
    assertThat(error.getString("message")).contains("at most 2");
    assertThat(alice.out.frames("joined")).hasSize(3);
    assertThat(h.hubRooms()).isEqualTo(2);
  }

  @Test
  @DisplayName("forgets a room's unacknowledged messages when it leaves the room")
  void leaveForgetsPending() {
    harness(Map.of("CHAT_MAX_PENDING_ACKS", "3"));
    String left = randomRoom();
    Client alice = h.joined("alice", left);
    h.publishMany(left, 3);
    alice.out.await("message", left, 3);
    alice.send(frame("leave").put("room", left));
    alice.out.await("left");

    String other = randomRoom();
    alice.join(other);
    h.publishMany(other, 3);
    alice.out.await("message", other, 3);
    alice.roundTrip();

    assertThat(alice.out.closes()).isEmpty();
  }

  @Test
  @DisplayName(
      "writes nothing for a room it has not joined, nor a message at or below the seq it is at")
  void dropsWhatIsNotItsOwn() {
    harness();
    String room = randomRoom();
    Client alice = h.joined("alice", room);
    h.publishMany(room, 2);
    alice.out.await("message", room, 2);
    int mark = alice.out.mark();

    String stranger = randomRoom();
    byte[] old = ServerFrames.message(room, 2, "old", "carol", "again", null, 1L);
    byte[] next = ServerFrames.message(room, 3, "next", "carol", "next", null, 1L);
    h.loop.run(
        () -> {
          alice.session.deliver(room, 2, old);
          alice.session.deliver(room, 1, old);
          alice.session.deliver(stranger, 1, next);
          alice.session.presence(stranger, next);
          alice.session.joined(
              stranger, new Snapshot("e", 1, List.of(next), false, 1, List.of("carol"), false));
          alice.session.deliver(room, 3, next);
        });

    assertThat(alice.out.since(mark))
        .extracting(e -> e.frame().getString("id"))
        .containsExactly("next");
  }

  /**
   * Feeds {@code c} activity every {@code everyMs} on its loop, as a live client's frames would;
   * returns the timer.
   */
  private long keepAlive(Client c, long everyMs) {
    return h.loop.call(() -> h.loop.vertx().setPeriodic(everyMs, t -> c.session.onActivity()));
  }

  private static Event closeEvent(Client c) {
    return c.out.events().stream().filter(e -> e.close() != null).findFirst().orElseThrow();
  }

  /** A redelivered message frame. */
  private static boolean redelivered(Event e) {
    return e.isFrame("message") && e.frame().getBoolean("redelivered", false);
  }

  /** Lets {@code ms} pass on the session's loop, then checks it wrote nothing after its close. */
  private void assertNothingAfterClose(Client c, long ms) {
    h.loop.pass(ms);
    List<Event> events = c.out.events();
    int close = events.indexOf(closeEvent(c));
    assertThat(events.subList(close + 1, events.size())).as("written after the close").isEmpty();
  }
}
