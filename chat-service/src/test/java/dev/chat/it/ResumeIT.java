package dev.chat.it;

import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * History on join and recovery with {@code since}, across two nodes: exact replays, the latest
 * messages when recovery is impossible, and no gap or duplicate while others keep sending.
 */
@Timeout(60)
class ResumeIT {

  private static final int HISTORY_ON_JOIN = 10;
  private static final int HISTORY_MAX = 100;

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("resume")
          .env(ChatCluster.QUIET_TIMERS)
          .env(
              Map.of(
                  "CHAT_HISTORY_ON_JOIN", Integer.toString(HISTORY_ON_JOIN),
                  "CHAT_HISTORY_MAX", Integer.toString(HISTORY_MAX)))
          .nodes(2)
          .build();

  @Test
  @DisplayName(
      "a join without since replays the latest historyOnJoin messages, recovered:false, then the live ones")
  void historyOnJoin() {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    JsonObject created = sender.join(room);
    List<String> ids = sendAll(sender, room, 15);

    ChatPeer newcomer = cluster.connect(cluster.b(), user("newcomer"));
    JsonObject joined = newcomer.join(room);

    assertThat(joined.getString("epoch")).isNotBlank().isEqualTo(created.getString("epoch"));
    assertThat(joined.getLong("seq")).isEqualTo(15L);
    assertThat(joined.getBoolean("recovered")).isFalse();
    assertThat(joined.getInteger("online")).isEqualTo(2);
    assertThat(joined.getJsonArray("users").getList())
        .containsExactlyInAnyOrder(sender.user(), newcomer.user());
    List<JsonObject> replay = newcomer.awaitMessages(room, HISTORY_ON_JOIN);
    assertThat(replay).extracting(m -> m.getLong("seq")).isEqualTo(seqs(6, 15));
    assertThat(replay).extracting(m -> m.getString("id")).isEqualTo(ids.subList(5, 15));
    assertThat(replay).allMatch(m -> m.getString("from").equals(sender.user()));

    long live = sender.say(room, id(), "live").getLong("seq");
    newcomer.awaitSeq(room, live);
    assertThat(newcomer.messages(room)).extracting(m -> m.getLong("seq")).isEqualTo(seqs(6, 16));
  }

  @Test
  @DisplayName("two joins sent back to back are both answered, the second as asked (a resume)")
  void backToBackJoins() {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    String epoch = sender.join(room).getString("epoch");
    sendAll(sender, room, 6);

    ChatPeer reader = cluster.connect(cluster.b(), user("reader"));
    reader.send(new JsonObject().put("type", "join").put("room", room));
    reader.send(
        new JsonObject()
            .put("type", "join")
            .put("room", room)
            .put("epoch", epoch)
            .put("since", 4L));
    JsonObject first = reader.awaitJoined(room);
    JsonObject second = reader.awaitJoined(room);

    assertThat(first.getBoolean("recovered")).isFalse();
    assertThat(second.getBoolean("recovered")).isTrue();
    assertThat(second.getLong("seq")).isEqualTo(6L);
    long live = sender.say(room, id(), "live").getLong("seq");
    reader.awaitSeq(room, live);
    // the first join replayed 1..6; the second started over from since=4 and replayed 5..6
    assertThat(reader.messages(room))
        .extracting(m -> m.getLong("seq"))
        .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 5L, 6L, 7L);
  }

  @Test
  @DisplayName(
      "a join with the epoch and since replays exactly the messages after since, recovered:true")
  void resumeWithSince() {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.b(), user("sender"));
    sender.join(room);
    String reader = user("reader");
    ChatPeer first = cluster.connect(cluster.a(), reader);
    String epoch = first.join(room).getString("epoch");
    sendAll(sender, room, 5);
    first.awaitMessages(room, 5);
    first.close();

    sendAll(sender, room, 4);
    ChatPeer second = cluster.connect(cluster.b(), reader);
    JsonObject joined = second.resume(room, epoch, 5);

    assertThat(joined.getBoolean("recovered")).isTrue();
    assertThat(joined.getString("epoch")).isEqualTo(epoch);
    assertThat(joined.getLong("seq")).isEqualTo(9L);
    long live = sender.say(room, id(), "live").getLong("seq");
    second.awaitSeq(room, live);
    assertThat(second.messages(room)).extracting(m -> m.getLong("seq")).isEqualTo(seqs(6, 10));
    assertThat(second.messages(room)).noneMatch(m -> m.containsKey("redelivered"));

    // resuming at the head replays nothing: the next message is the first one
    ChatPeer third = cluster.connect(cluster.a(), reader);
    JsonObject upToDate = third.resume(room, epoch, live);
    assertThat(upToDate.getBoolean("recovered")).isTrue();
    assertThat(upToDate.getLong("seq")).isEqualTo(live);
    long next = sender.say(room, id(), "next").getLong("seq");
    third.awaitSeq(room, next);
    assertThat(third.messages(room)).extracting(m -> m.getLong("seq")).containsExactly(next);
  }

  @Test
  @DisplayName(
      "a client that reconnects to the other node and resumes with since, while another keeps"
          + " sending, ends up with every message exactly once and no gap, round after round")
  void resumeWhileOthersSend() throws Exception {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    sender.join(room);
    String reader = user("reader");
    ChatPeer peer = cluster.connect(cluster.b(), reader);
    JsonObject joined = peer.join(room);
    String epoch = joined.getString("epoch");
    assertThat(joined.getLong("seq")).isZero();

    AtomicLong lastAcked = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService background = Executors.newSingleThreadExecutor();
    Future<Integer> sending =
        background.submit(
            () -> {
              int sent = 0;
              while (!stop.get()) {
                JsonObject ack = sender.say(room, "tick-" + sent, "tick " + sent);
                if (!"ack".equals(ack.getString("type"))) {
                  throw new AssertionError("send refused: " + ack);
                }
                lastAcked.set(ack.getLong("seq"));
                sent++;
                Thread.sleep(5); // a steady stream, not a flood
              }
              return sent;
            });
    try {
      TreeMap<Long, Integer> timesReceived = new TreeMap<>();
      List<ChatNode> nodes = List.of(cluster.b(), cluster.a());
      int rounds = 8;
      for (int round = 1; round <= rounds; round++) {
        long start = maxSeq(timesReceived);
        // some live traffic on this connection first
        peer.awaitSeq(room, start + 15);
        if (round % 2 == 0) {
          peer.abort();
        } else {
          peer.close();
        }
        peer.settle(Duration.ZERO);
        List<JsonObject> got = peer.messages(room);
        assertThat(got)
            .as("round %d: one connection's stream is contiguous", round)
            .extracting(m -> m.getLong("seq"))
            .isEqualTo(seqs(start + 1, start + got.size()));
        got.forEach(m -> timesReceived.merge(m.getLong("seq"), 1, Integer::sum));
        long since = maxSeq(timesReceived);

        // messages are sent while the client is away
        await(() -> lastAcked.get() >= since + 5 || sending.isDone(), "5 sends while away");
        if (sending.isDone()) {
          sending.get(); // the sender failed: report why
        }
        peer = cluster.connect(nodes.get(round % 2), reader);
        JsonObject resumed = peer.resume(room, epoch, since);
        assertThat(resumed.getBoolean("recovered")).as("round %d: %s", round, resumed).isTrue();
        assertThat(resumed.getString("epoch")).isEqualTo(epoch);
        assertThat(resumed.getLong("seq")).isGreaterThanOrEqualTo(since + 5);
      }
      stop.set(true);
      int sent = sending.get(10, TimeUnit.SECONDS);
      long last = lastAcked.get();
      assertThat(last).isEqualTo(sent);

      long start = maxSeq(timesReceived);
      peer.awaitSeq(room, last);
      List<JsonObject> got = peer.messages(room);
      assertThat(got).extracting(m -> m.getLong("seq")).isEqualTo(seqs(start + 1, last));
      got.forEach(m -> timesReceived.merge(m.getLong("seq"), 1, Integer::sum));

      assertThat(timesReceived.keySet())
          .as("every seq, no gap")
          .isEqualTo(new TreeSet<>(seqs(1, last)));
      assertThat(timesReceived.values()).as("each exactly once").allMatch(n -> n == 1);
    } finally {
      stop.set(true);
      background.shutdownNow();
    }
  }

  @Test
  @DisplayName(
      "since before the oldest message history still holds gives recovered:false with the latest"
          + " messages; since right before it still recovers")
  void trimmedHistory() {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    String epoch = sender.join(room).getString("epoch");
    int total = HISTORY_MAX + 10;
    sendAll(sender, room, total);
    long oldestKept = (long) total - HISTORY_MAX + 1;

    ChatPeer justInTime = cluster.connect(cluster.b(), user("just-in-time"));
    JsonObject recovered = justInTime.resume(room, epoch, oldestKept - 1);
    assertThat(recovered.getBoolean("recovered")).isTrue();
    assertThat(recovered.getLong("seq")).isEqualTo((long) total);
    assertThat(justInTime.awaitMessages(room, HISTORY_MAX))
        .extracting(m -> m.getLong("seq"))
        .isEqualTo(seqs(oldestKept, total));

    ChatPeer late = cluster.connect(cluster.a(), user("late"));
    JsonObject joined = late.resume(room, epoch, oldestKept - 2);
    assertThat(joined.getBoolean("recovered")).isFalse();
    assertThat(joined.getString("epoch")).isEqualTo(epoch);
    assertThat(joined.getLong("seq")).isEqualTo((long) total);
    assertLatestThenLive(late, sender, room, total);
  }

  @Test
  @DisplayName(
      "an unknown epoch gives recovered:false, the room's real epoch and the latest messages")
  void wrongEpoch() {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.b(), user("sender"));
    String epoch = sender.join(room).getString("epoch");
    sendAll(sender, room, 12);

    ChatPeer peer = cluster.connect(cluster.a(), user("stale"));
    JsonObject joined = peer.resume(room, "e-" + epoch + "-old", 3);

    assertThat(joined.getBoolean("recovered")).isFalse();
    assertThat(joined.getString("epoch")).isEqualTo(epoch);
    assertThat(joined.getLong("seq")).isEqualTo(12L);
    assertLatestThenLive(peer, sender, room, 12);
  }

  /**
   * {@code peer} got the latest historyOnJoin messages up to {@code head}, then the next live one.
   */
  private static void assertLatestThenLive(ChatPeer peer, ChatPeer sender, String room, long head) {
    peer.awaitMessages(room, HISTORY_ON_JOIN);
    long live = sender.say(room, id(), "live").getLong("seq");
    assertThat(live).isEqualTo(head + 1);
    peer.awaitSeq(room, live);
    assertThat(peer.messages(room))
        .extracting(m -> m.getLong("seq"))
        .isEqualTo(seqs(head - HISTORY_ON_JOIN + 1, live));
  }

  /** Sends {@code count} messages at once, then waits for every ack; returns their ids in order. */
  private static List<String> sendAll(ChatPeer sender, String room, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String id = id();
      ids.add(id);
      sender.post(room, id, "message " + i);
    }
    long previous = -1;
    for (String id : ids) {
      JsonObject ack = sender.answer(id);
      assertThat(ack.getString("type")).as(ack.encode()).isEqualTo("ack");
      assertThat(ack.getLong("seq")).isGreaterThan(previous);
      previous = ack.getLong("seq");
    }
    return ids;
  }

  private static List<Long> seqs(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  private static long maxSeq(NavigableMap<Long, Integer> timesReceived) {
    return timesReceived.isEmpty() ? 0 : timesReceived.lastKey();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + ChatPeer.WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + what + " within " + ChatPeer.WAIT);
      }
      Thread.sleep(10);
    }
  }
}
