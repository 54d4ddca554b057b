package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class FrameScannerTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  @DisplayName(
      "a message frame gives its type, room, seq and the intended time, publisher and counter in its text")
  void oursMessage() {
    byte[] f =
        b(
            "{\"type\":\"message\",\"room\":\"big-1\",\"seq\":58,\"id\":\"u1-7\",\"from\":\"u1\","
                + "\"text\":\"t=123456789;p=12;c=7;xxxx\",\"ts\":1732350000000,\"redelivered\":true}");
    assertThat(FrameScanner.stringFieldIs(f, 0, f.length, FrameScanner.key("type"), b("message")))
        .isTrue();
    assertThat(FrameScanner.stringFieldIs(f, 0, f.length, FrameScanner.key("type"), b("messages")))
        .isFalse();
    assertThat(FrameScanner.stringFieldIs(f, 0, f.length, FrameScanner.key("type"), b("ack")))
        .isFalse();
    assertThat(FrameScanner.stringField(f, 0, f.length, FrameScanner.key("room")))
        .isEqualTo("big-1");
    assertThat(FrameScanner.longField(f, 0, f.length, FrameScanner.key("seq"), -1)).isEqualTo(58);
    assertThat(FrameScanner.longField(f, 0, f.length, FrameScanner.key("ts"), -1))
        .isEqualTo(1732350000000L);
    assertThat(FrameScanner.longAfter(f, 0, f.length, b("t="), -1)).isEqualTo(123456789L);
    assertThat(FrameScanner.longAfter(f, 0, f.length, b(";p="), -1)).isEqualTo(12);
    assertThat(FrameScanner.longAfter(f, 0, f.length, b(";c="), -1)).isEqualTo(7);
  }

  @Test
  @DisplayName(
      "fields are found within a slice of a larger buffer, and a missing field gives the default")
  void sliceAndMissing() {
    byte[] f =
        b(
            "garbage{\"type\":\"ack\",\"id\":\"a-1\",\"room\":\"r\",\"seq\":3,\"ts\":9}trailing\"seq\":77");
    int from = 7, to = f.length - "trailing\"seq\":77".length();
    assertThat(FrameScanner.stringField(f, from, to, FrameScanner.key("id"))).isEqualTo("a-1");
    assertThat(FrameScanner.longField(f, from, to, FrameScanner.key("seq"), -1)).isEqualTo(3);
    assertThat(FrameScanner.longField(f, from, to, FrameScanner.key("epoch"), -1)).isEqualTo(-1);
    assertThat(FrameScanner.stringField(f, from, to, FrameScanner.key("epoch"))).isNull();
  }

  @Test
  @DisplayName("a joined frame gives its epoch and seq, tolerating a space after the colon")
  void joined() {
    byte[] f =
        b(
            "{\"type\": \"joined\",\"room\":\"g\",\"epoch\":\"e-4f1a\",\"seq\": 57,\"online\":3,\"users\":[\"a\"],\"recovered\":true}");
    assertThat(FrameScanner.stringFieldIs(f, 0, f.length, FrameScanner.key("type"), b("joined")))
        .isTrue();
    assertThat(FrameScanner.stringField(f, 0, f.length, FrameScanner.key("epoch")))
        .isEqualTo("e-4f1a");
    assertThat(FrameScanner.longField(f, 0, f.length, FrameScanner.key("seq"), -1)).isEqualTo(57);
  }

  @Test
  @DisplayName("Engine.IO and Socket.IO packets are told apart by their leading digits")
  void socketIoKinds() {
    assertThat(kind("0{\"sid\":\"x\",\"pingInterval\":25000}"))
        .isEqualTo(FrameScanner.SioKind.OPEN);
    assertThat(kind("2")).isEqualTo(FrameScanner.SioKind.PING);
    assertThat(kind("40{\"sid\":\"abc\"}")).isEqualTo(FrameScanner.SioKind.CONNECT);
    assertThat(kind("42[\"message\",{}]")).isEqualTo(FrameScanner.SioKind.EVENT);
    assertThat(kind("4317[{\"ok\":true}]")).isEqualTo(FrameScanner.SioKind.ACK);
    assertThat(kind("44{\"message\":\"no\"}")).isEqualTo(FrameScanner.SioKind.CONNECT_ERROR);
    assertThat(kind("3")).isEqualTo(FrameScanner.SioKind.OTHER);
  }

  @Test
  @DisplayName("a Socket.IO event gives its name, ack id and data fields; an ack gives its id")
  void socketIoEvent() {
    byte[] e =
        b(
            "42[\"message\",{\"room\":\"r1\",\"id\":\"u-3\",\"from\":\"u\",\"text\":\"t=99;p=4;c=3;zz\",\"ts\":17}]");
    assertThat(FrameScanner.sioEventIs(e, e.length, b("message"))).isTrue();
    assertThat(FrameScanner.sioEventIs(e, e.length, b("messages"))).isFalse();
    assertThat(FrameScanner.sioAckId(e, e.length)).isEqualTo(-1);
    assertThat(FrameScanner.stringField(e, 0, e.length, FrameScanner.key("room"))).isEqualTo("r1");
    assertThat(FrameScanner.longAfter(e, 0, e.length, b("t="), -1)).isEqualTo(99);
    byte[] withId = b("42123[\"join\",{\"room\":\"r\"}]");
    assertThat(FrameScanner.sioEventIs(withId, withId.length, b("join"))).isTrue();
    assertThat(FrameScanner.sioAckId(withId, withId.length)).isEqualTo(123);
    byte[] ack = b("4342[{\"ok\":true,\"online\":3}]");
    assertThat(FrameScanner.sioAckId(ack, ack.length)).isEqualTo(42);
  }

  @Test
  @DisplayName("a jcmd class histogram gives the live heap: its Total line less the filler objects")
  void heapHistogram() {
    String histogram =
        """
        12345:
         num     #instances         #bytes  class name (module)
        -------------------------------------------------------
           1:         80000        4096000  [B (java.base@25)
           2:          1000          64000  java.lang.String (java.base@25)
        Total         81000        4160000
        """;
    assertThat(ProcStats.parseHistogramTotal(histogram)).isEqualTo(4_160_000L);
    String withFiller =
        """
        12345:
         num     #instances         #bytes  class name (module)
        -------------------------------------------------------
           1:         78840       79409352  [Ljava.lang.Object; (java.base@25.0.3)
           2:         83580       39884832  [Ljdk.internal.vm.FillerElement; (java.base@25.0.3)
           3:         18514       10664064  io.netty.util.internal.shaded.Queue
        Total        180934      129958248
        """;
    assertThat(ProcStats.parseHistogramTotal(withFiller)).isEqualTo(129_958_248L - 39_884_832L);
    assertThat(ProcStats.parseHistogramTotal("Could not attach")).isEqualTo(-1);
    assertThat(ProcStats.parseHistogramTotal(null)).isEqualTo(-1);
  }

  private static FrameScanner.SioKind kind(String s) {
    byte[] x = b(s);
    return FrameScanner.sioKind(x, x.length);
  }
}
