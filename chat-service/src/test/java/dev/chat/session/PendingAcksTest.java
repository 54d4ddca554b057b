package dev.chat.session;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Pending acks")
class PendingAcksTest {

  private static final long ACK_TIMEOUT = 100;

  private final List<String> sent = new ArrayList<>();

  private static byte[] frame(String room, long seq) {
    return ("{\"room\":\"" + room + "\",\"seq\":" + seq + "}").getBytes(UTF_8);
  }

  private boolean redeliver(PendingAcks p, long now) {
    return p.redeliverDue(now, f -> sent.add(new String(f, UTF_8)));
  }

  @Test
  @DisplayName("forget every message of a room up to and including the acknowledged seq")
  void cumulativeAck() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    for (long seq = 1; seq <= 4; seq++) {
      p.add("a", seq, frame("a", seq), 0);
    }
    p.add("b", 1, frame("b", 1), 0);

    p.ack("a", 2);
    assertThat(p.size()).isEqualTo(3);
    p.ack("a", 1);
    p.ack("nowhere", 9);
    assertThat(p.size()).isEqualTo(3);

    assertThat(redeliver(p, ACK_TIMEOUT)).isTrue();
    assertThat(sent)
        .containsExactlyInAnyOrder(
            "{\"room\":\"a\",\"seq\":3}",
            "{\"room\":\"a\",\"seq\":4}",
            "{\"room\":\"b\",\"seq\":1}");

    p.ack("a", 10);
    p.ack("b", 1);
    assertThat(p.size()).isZero();
    assertThat(p.nextDue()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  @DisplayName("forget a whole room when its view starts over")
  void clear() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    p.add("a", 1, frame("a", 1), 0);
    p.add("a", 2, frame("a", 2), 0);
    p.add("b", 1, frame("b", 1), 50);

    p.clear("a");
    p.clear("unknown");

    assertThat(p.size()).isEqualTo(1);
    assertThat(p.nextDue()).isEqualTo(50 + ACK_TIMEOUT);
    assertThat(redeliver(p, 1_000)).isTrue();
    assertThat(sent).containsExactly("{\"room\":\"b\",\"seq\":1}");
  }

  @Test
  @DisplayName("redeliver nothing before the ack timeout, then at doubling intervals")
  void backoff() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    p.add("a", 1, frame("a", 1), 1_000);
    assertThat(p.nextDue()).isEqualTo(1_100);

    assertThat(redeliver(p, 1_099)).isTrue();
    assertThat(sent).isEmpty();

    long now = 1_100;
    for (int round = 1; round <= 5; round++) {
      assertThat(redeliver(p, now)).isTrue();
      assertThat(sent).hasSize(round);
      long next = p.nextDue();
      assertThat(next - now).isEqualTo(ACK_TIMEOUT << round);
      assertThat(redeliver(p, next - 1)).isTrue();
      assertThat(sent).hasSize(round);
      now = next;
    }
  }

  @Test
  @DisplayName("report a message that is due after its last redelivery, sending nothing for it")
  void givesUp() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 2);
    p.add("a", 1, frame("a", 1), 0);

    assertThat(redeliver(p, 100)).isTrue();
    assertThat(redeliver(p, 300)).isTrue();
    assertThat(redeliver(p, 699)).isTrue();
    assertThat(redeliver(p, 700)).isFalse();
    assertThat(sent).hasSize(2);

    PendingAcks none = new PendingAcks(ACK_TIMEOUT, 0);
    none.add("a", 1, frame("a", 1), 0);
    assertThat(none.redeliverDue(100, f -> sent.add("unexpected"))).isFalse();
    assertThat(sent).hasSize(2);
  }

  @Test
  @DisplayName("keep the backoff finite however many redeliveries are allowed")
  void backoffIsCapped() {
    PendingAcks p = new PendingAcks(5_000, 1_000);
    p.add("a", 1, frame("a", 1), 0);
    long now = 5_000;
    for (int round = 0; round < 100; round++) {
      assertThat(redeliver(p, now)).isTrue();
      long next = p.nextDue();
      assertThat(next).isGreaterThan(now);
      now = next;
    }
    assertThat(p.nextDue() - now).isLessThanOrEqualTo(5_000L << 20);
  }

  @Test
  @DisplayName("keep order and count through many messages, partial acks and wrap-around")
  void manyMessagesWrapAround() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    long next = 1;
    for (; next <= 6; next++) {
      p.add("a", next, frame("a", next), 0);
    }
    p.ack("a", 4);
    for (; next <= 30; next++) {
      p.add("a", next, frame("a", next), 0);
    }
    assertThat(p.size()).isEqualTo(26);
    p.ack("a", 20);
    assertThat(p.size()).isEqualTo(10);

    assertThat(redeliver(p, ACK_TIMEOUT)).isTrue();
    List<String> expected = new ArrayList<>();
    for (long seq = 21; seq <= 30; seq++) {
      expected.add("{\"room\":\"a\",\"seq\":" + seq + "}");
    }
    assertThat(sent).containsExactlyElementsOf(expected);

    p.ack("a", 30);
    assertThat(p.size()).isZero();
    p.add("a", 31, frame("a", 31), 500);
    assertThat(p.nextDue()).isEqualTo(500 + ACK_TIMEOUT);
  }

  @Test
  @DisplayName(
      "keep seq order when the ring grows after wrapping, so a partial ack drops the oldest")
  void growsAfterWrapInOrder() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    for (long seq = 1; seq <= 6; seq++) {
      p.add("a", seq, frame("a", seq), seq);
    }
    p.ack("a", 4);
    for (long seq = 7; seq <= 20; seq++) {
      p.add("a", seq, frame("a", seq), seq);
    }
    p.ack("a", 9);
    assertThat(p.size()).isEqualTo(11);
    // seq 10 is the oldest left: the earliest due
    assertThat(p.nextDue()).isEqualTo(10 + ACK_TIMEOUT);
    assertThat(redeliver(p, 20 + ACK_TIMEOUT)).isTrue();
    List<String> expected = new ArrayList<>();
    for (long seq = 10; seq <= 20; seq++) {
      expected.add("{\"room\":\"a\",\"seq\":" + seq + "}");
    }
    assertThat(sent).containsExactlyElementsOf(expected);
  }

  @Test
  @DisplayName("keep each room's messages apart when sends alternate between rooms")
  void alternatingRooms() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    p.add("a", 1, frame("a", 1), 0);
    p.add("b", 1, frame("b", 1), 0);
    p.add("a", 2, frame("a", 2), 0);
    p.ack("b", 1);
    assertThat(p.size()).isEqualTo(2);
    assertThat(redeliver(p, ACK_TIMEOUT)).isTrue();
    assertThat(sent).containsExactly("{\"room\":\"a\",\"seq\":1}", "{\"room\":\"a\",\"seq\":2}");
  }

  @Test
  @DisplayName("keep a room's messages added after it was cleared")
  void addAfterClear() {
    PendingAcks p = new PendingAcks(ACK_TIMEOUT, 5);
    p.add("a", 1, frame("a", 1), 0);
    p.clear("a");
    p.add("a", 2, frame("a", 2), 0);
    assertThat(p.size()).isEqualTo(1);
    assertThat(p.nextDue()).isEqualTo(ACK_TIMEOUT);
    assertThat(redeliver(p, ACK_TIMEOUT)).isTrue();
    assertThat(sent).containsExactly("{\"room\":\"a\",\"seq\":2}");
  }
}
