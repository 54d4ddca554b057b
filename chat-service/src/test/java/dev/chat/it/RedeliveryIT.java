package dev.chat.it;

import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatPeer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Delivery acks across two nodes with fast timers: a first redelivery after 200 ms, then 400 ms,
 * then the connection is closed with 4001 (at most two redeliveries).
 */
@Timeout(60)
class RedeliveryIT {

  private static final long ACK_TIMEOUT_MS = 200;
  private static final int MAX_REDELIVERIES = 2;
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("redeliver")
          .env(ChatCluster.QUIET_TIMERS)
          .env(
              Map.of(
                  "CHAT_ACK_TIMEOUT_MS", Long.toString(ACK_TIMEOUT_MS),
                  "CHAT_MAX_REDELIVERIES", Integer.toString(MAX_REDELIVERIES)))
          .nodes(2)
          .build();

  @Test
  @DisplayName(
      "a message never acknowledged comes again, unchanged but for redelivered:true, at growing"
          + " intervals, and after the last redelivery the connection is closed with 4001")
  void redeliversThenCloses() {
    String room = room();
    ChatPeer silent = cluster.connectWithoutAcks(cluster.b(), user("silent"));
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    assertThat(silent.welcome().getLong("ackTimeoutMs")).isEqualTo(ACK_TIMEOUT_MS);
    silent.join(room);
    sender.join(room);

    String id = id();
    sender.post(room, id, "are you there?");
    // read at once, so the arrival times below are when the frames came
    silent.awaitMessages(room, 1);
    long seq = sender.answer(id).getLong("seq");
    sender.awaitSeq(room, seq); // the sender's own copy, acknowledged by it

    List<JsonObject> copies = silent.awaitMessages(room, 1 + MAX_REDELIVERIES, CLOSE_WAIT);
    int code = silent.awaitClose(CLOSE_WAIT);
    long closedAt = System.nanoTime();

    assertThat(code).isEqualTo(4001);
    JsonObject original = copies.get(0);
    assertThat(original.getLong("seq")).isEqualTo(seq);
    assertThat(original.containsKey("redelivered")).isFalse();
    for (JsonObject copy : copies.subList(1, copies.size())) {
      assertThat(copy.copy().put("redelivered", true)).isEqualTo(copy);
      JsonObject withoutFlag = copy.copy();
      withoutFlag.remove("redelivered");
      assertThat(withoutFlag).isEqualTo(original);
    }
    silent.settle(Duration.ZERO);
    assertThat(silent.messages(room)).as("no redelivery beyond the maximum").hasSize(3);

    List<Long> gaps = new ArrayList<>();
    long previous = silent.arrivedAt(original);
    for (JsonObject copy : copies.subList(1, copies.size())) {
      gaps.add(silent.arrivedAt(copy) - previous);
      previous = silent.arrivedAt(copy);
    }
    gaps.add(closedAt - previous);
    List<Long> gapsMs = gaps.stream().map(n -> n / 1_000_000).toList();
    // Nominally 200, 400 and 800 ms. Each interval is timed from the previous redelivery as it
    // actually happened, so a loaded machine can only lengthen one: lower bounds prove the growth
    // (the tolerance covers the variance of the frames' own transit to this client).
    long tolerance = 100;
    for (int i = 0; i < gapsMs.size(); i++) {
      assertThat(gapsMs.get(i))
          .as("interval " + i + " of " + gapsMs)
          .isGreaterThanOrEqualTo((ACK_TIMEOUT_MS << i) - tolerance);
    }
  }

  @Test
  @DisplayName(
      "a message that arrives while an older one waits out a longer backoff is still redelivered"
          + " after ackTimeoutMs, before the older one closes the connection")
  void newMessageIsNotHeldBackByAnOlderBackoff() {
    String room = room();
    ChatPeer silent = cluster.connectWithoutAcks(cluster.b(), user("silent"));
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    silent.join(room);
    sender.join(room);
    long first = sender.say(room, id(), "first").getLong("seq");
    sender.awaitSeq(room, first);

    // the first message's last redelivery: from now on it waits 4 x ackTimeoutMs, then 4001
    silent.awaitMessages(room, 1 + MAX_REDELIVERIES, CLOSE_WAIT);
    long second = sender.say(room, id(), "second").getLong("seq");
    sender.awaitSeq(room, second);

    assertThat(silent.awaitClose(CLOSE_WAIT)).isEqualTo(4001);
    silent.settle(Duration.ZERO);
    assertThat(silent.messages(room))
        .filteredOn(m -> m.getLong("seq") == second)
        .extracting(m -> m.getBoolean("redelivered", false))
        .as("the second message, then its redelivery")
        .startsWith(false, true);
  }

  @Test
  @DisplayName(
      "an ack of seq N covers every message up to N: a client acking the last message gets no"
          + " redelivery, one acking the middle gets only the later ones again")
  void cumulativeAcks() {
    String room = room();
    ChatPeer sender = cluster.connect(cluster.a(), user("sender"));
    ChatPeer silent = cluster.connectWithoutAcks(cluster.b(), user("silent"));
    ChatPeer acksAll = cluster.connectWithoutAcks(cluster.b(), user("all"));
    ChatPeer acksHalf = cluster.connectWithoutAcks(cluster.a(), user("half"));
    for (ChatPeer peer : List.of(sender, silent, acksAll, acksHalf)) {
      peer.join(room);
    }
    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      seqs.add(sender.say(room, id(), "message " + i).getLong("seq"));
    }
    sender.awaitSeq(room, seqs.get(4)); // the sender acknowledges its own copies

    acksAll.awaitMessages(room, 5);
    acksAll.ack(room, seqs.get(4));
    acksHalf.awaitMessages(room, 5);
    acksHalf.ack(room, seqs.get(2));

    List<JsonObject> again = acksHalf.awaitMessages(room, 7).subList(5, 7);
    assertThat(again)
        .extracting(m -> m.getLong("seq"), m -> m.getBoolean("redelivered"))
        .containsExactly(tuple(seqs.get(3), true), tuple(seqs.get(4), true));
    acksHalf.ack(room, seqs.get(4));

    // every redelivery timer the others could have run has run once the silent client is closed
    assertThat(silent.awaitClose(CLOSE_WAIT)).isEqualTo(4001);
    acksAll.settle(Duration.ofMillis(100));
    assertThat(acksAll.messages(room)).hasSize(5).noneMatch(m -> m.containsKey("redelivered"));
    acksHalf.settle(Duration.ofMillis(100));
    assertThat(acksHalf.messages(room)).hasSize(7);
    acksAll.pingPong();
    acksHalf.pingPong();
    assertThat(acksAll.isClosed()).isFalse();
    assertThat(acksHalf.isClosed()).isFalse();
  }
}
