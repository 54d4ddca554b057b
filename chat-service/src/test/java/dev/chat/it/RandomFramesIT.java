package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.ClientCodec;
import dev.chat.protocol.Decoded;
import dev.chat.testing.ChatNode;
import dev.chat.testing.FrameArbitraries;
import dev.chat.testing.RawWebSocket;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * A real node (an event loop busy for 500 ms, a quarter of Vert.x's default, logs a warning) takes
 * random sessions of well-framed WebSocket messages: JSON-shaped and damaged frames, random text,
 * binary, invalid UTF-8, oversized and fragmented messages, pings and pongs. A model of the
 * contract predicts each session's end, and the node must match it exactly: the first binary
 * message closes with 1003, invalid UTF-8 with 1007, a message over the size limit with 1009, the
 * 21st undecodable frame with 1008; a session with none of those stays open and still answers a
 * ping. Nothing may block an event loop on the way.
 */
@Label("A node fed random frames")
class RandomFramesIT {

  private static final int MAX_BYTES = 2048;
  private static final int BAD_FRAMES_ALLOWED = 20;
  private static final Duration WAIT = Duration.ofSeconds(5);

  /** Every close code of the contract's table. */
  private static final Set<Integer> CONTRACT_CLOSES =
      Set.of(1000, 1003, 1007, 1008, 1009, 1011, 1012, 1013, 4000, 4001, 4002);

  /** The model's verdict for a single frame over the limit: 1009, or a reset that lost it. */
  private static final int ONE_FRAME_TOO_BIG = -1009;

  /**
   * What {@link RawWebSocket#awaitClose} reports when the connection ended without a close frame.
   */
  private static final int NO_CLOSE_FRAME = -1;

  private static ChatNode node;
  private static long logOffset;

  @BeforeContainer
  static void start() throws Exception {
    node =
        ChatNode.builder()
            .name("random-frames")
            .env("CHAT_MAX_FRAME_BYTES", Integer.toString(MAX_BYTES))
            .env("CHAT_EVENT_LOOP_WARN_MS", "500")
            // nothing here acks: keep redelivery from closing sockets with 4001 within a session
            .env("CHAT_ACK_TIMEOUT_MS", "60000")
            // a session of 1-byte fragments is hundreds of frames: the flood budgets (FloodIT's
            // subject) are raised so that only the rules modelled here close a connection
            .env("CHAT_FRAME_RATE_PER_SEC", "100000")
            .env("CHAT_FRAME_BURST", "100000")
            .env("CHAT_RATE_LIMIT_PER_SEC", "100000")
            .env("CHAT_RATE_LIMIT_BURST", "100000")
            .start();
    // Warm up the code paths first: loading classes on a cold JVM is not what is measured here.
    for (int i = 0; i < 3; i++) {
      try (RawWebSocket ws = connect()) {
        ws.sendText("{\"type\":\"join\",\"room\":\"warm-up\"}");
        ws.sendText(
            "{\"type\":\"send\",\"room\":\"warm-up\",\"id\":\"w" + i + "\",\"text\":\"hi\"}");
        ws.sendText("not json");
        ws.sendFragmented("{\"type\":\"ping\"}", 3);
        awaitPong(ws);
      }
    }
    assertThat(Files.readString(node.logFile())).contains("blocked-loop warning after 500 ms");
    logOffset = Files.size(node.logFile());
  }

  @AfterContainer
  static void stop() throws IOException {
    try {
      byte[] log = Files.readAllBytes(node.logFile());
      String sinceWarmUp =
          new String(log, (int) logOffset, log.length - (int) logOffset, StandardCharsets.UTF_8);
      assertThat(sinceWarmUp).as("node log after warm-up").doesNotContain("has been blocked");
      assertThat(node.isAlive()).isTrue();
    } finally {
      node.close();
    }
  }

  /** One message of a session, as sent. */
  sealed interface Message {
    record Text(String text) implements Message {
      @Override
      public String toString() {
        return "Text[" + abbreviate(text) + "]";
      }
    }

    record Fragmented(String text, int fragmentBytes) implements Message {
      @Override
      public String toString() {
        return "Fragmented[" + abbreviate(text) + " in " + fragmentBytes + "-byte frames]";
      }
    }

    @SuppressWarnings("ArrayRecordComponent") // generated input, printed on failure, never compared
    record Binary(byte[] payload) implements Message {}

    record InvalidUtf8(String before, int sequence) implements Message {}

    record Oversized(int extraBytes, int fragmentBytes) implements Message {}

    @SuppressWarnings("ArrayRecordComponent") // generated input, printed on failure, never compared
    record Ping(byte[] payload) implements Message {}

    @SuppressWarnings("ArrayRecordComponent") // generated input, printed on failure, never compared
    record Pong(byte[] payload) implements Message {}
  }

  // Invalid UTF-8: a bad continuation, a lone continuation, an overlong '/', a surrogate, 0xFF.
  private static final List<byte[]> INVALID_UTF8 =
      List.of(
          new byte[] {(byte) 0xC3, 0x28},
          new byte[] {(byte) 0xA0},
          new byte[] {(byte) 0xC0, (byte) 0xAF},
          new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
          new byte[] {(byte) 0xFF});

  @Property(tries = 200)
  @Label("closes only as the contract says, and a session that breaks no rule stays open")
  void closesOnlyByContract(@ForAll("sessions") List<Message> session) {
    Integer expected = expectedClose(session);
    try (RawWebSocket ws = connect()) {
      // Like a real client, send nothing after the frame that earns a close: frames still arriving
      // when the node ends the TCP connection make it reset, and a reset may drop its close frame.
      for (Message m : session.subList(0, sentBeforeClose(session))) {
        send(ws, m);
      }
      if (expected == null) {
        awaitPong(ws);
        Statistics.collect("stays open");
        return;
      }
      int code = ws.awaitClose(WAIT);
      if (expected == ONE_FRAME_TOO_BIG) {
        // Netty refuses the frame from its header and closes the TCP connection right after its
        // close frame, with the rest of the frame unread: the reset that follows can make the
        // client's TCP stack drop that close frame, so the client sees no close code at all.
        assertThat(code).as("close code").isIn(1009, NO_CLOSE_FRAME);
      } else {
        assertThat(code).as("close code").isEqualTo(expected);
      }
      if (code != NO_CLOSE_FRAME) {
        assertThat(CONTRACT_CLOSES).contains(code);
      }
      Statistics.collect(
          (expected == ONE_FRAME_TOO_BIG ? "one oversized frame: " : "")
              + (code == NO_CLOSE_FRAME ? "reset, no close frame" : "closed " + code));
    }
  }

  /**
   * How many of the session's messages are sent: up to and including the first that earns a close.
   */
  private static int sentBeforeClose(List<Message> session) {
    for (int n = 1; n <= session.size(); n++) {
      if (expectedClose(session.subList(0, n)) != null) {
        return n;
      }
    }
    return session.size();
  }

  /** The contract's verdict on a session: the close code it must end with, or null to stay open. */
  private static Integer expectedClose(List<Message> session) {
    int bad = 0;
    for (Message m : session) {
      switch (m) {
        case Message.Binary b -> {
          return 1003;
        }
        case Message.InvalidUtf8 i -> {
          return 1007;
        }
        case Message.Oversized o -> {
          return o.fragmentBytes() == 0 ? ONE_FRAME_TOO_BIG : 1009;
        }
        case Message.Text t -> {
          if (tooBig(t.text())) {
            return ONE_FRAME_TOO_BIG;
          }
          bad += undecodable(t.text());
        }
        case Message.Fragmented f -> {
          if (tooBig(f.text())) {
            return 1009;
          }
          bad += undecodable(f.text());
        }
        case Message.Ping p -> {}
        case Message.Pong p -> {}
      }
      if (bad > BAD_FRAMES_ALLOWED) {
        return 1008;
      }
    }
    return null;
  }

  private static String abbreviate(String text) {
    return text.length() <= 60 ? text : text.substring(0, 60) + "…(" + text.length() + " chars)";
  }

  private static boolean tooBig(String text) {
    return text.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES;
  }

  private static int undecodable(String text) {
    return ClientCodec.decode(text) instanceof Decoded.Invalid ? 1 : 0;
  }

  private static void send(RawWebSocket ws, Message m) {
    switch (m) {
      case Message.Text t -> ws.sendText(t.text());
      case Message.Fragmented f -> ws.sendFragmented(f.text(), f.fragmentBytes());
      case Message.Binary b -> ws.sendBinary(b.payload());
      case Message.InvalidUtf8 i -> {
        byte[] before = i.before().getBytes(StandardCharsets.UTF_8);
        byte[] bad = INVALID_UTF8.get(i.sequence());
        byte[] payload = Arrays.copyOf(before, before.length + bad.length);
        System.arraycopy(bad, 0, payload, before.length, bad.length);
        ws.sendFrame(RawWebSocket.TEXT, true, payload);
      }
      case Message.Oversized o -> {
        String text = "x".repeat(MAX_BYTES + o.extraBytes());
        if (o.fragmentBytes() == 0) {
          ws.sendText(text);
        } else {
          ws.sendFragmented(text, o.fragmentBytes());
        }
      }
      case Message.Ping p -> ws.sendFrame(RawWebSocket.PING, true, p.payload());
      case Message.Pong p -> ws.sendFrame(RawWebSocket.PONG, true, p.payload());
    }
  }

  private static RawWebSocket connect() {
    return RawWebSocket.connect(
        "127.0.0.1", node.port(), "/ws?user=r-" + UUID.randomUUID().toString().substring(0, 8));
  }

  /** Asks for a pong with the protocol's JSON ping; fails if the node closes instead. */
  private static void awaitPong(RawWebSocket ws) {
    ws.sendText("{\"type\":\"ping\"}");
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      RawWebSocket.Frame f = ws.pollFrame(Duration.ofMillis(100));
      if (f == null) {
        continue;
      }
      assertThat(f.opcode())
          .as("a close (%s) where the session broke no rule", f)
          .isNotEqualTo(RawWebSocket.CLOSE);
      if (f.opcode() == RawWebSocket.TEXT && f.text().contains("\"type\":\"pong\"")) {
        return;
      }
    }
    throw new AssertionError("no pong within " + WAIT);
  }

  @Provide
  Arbitrary<List<Message>> sessions() {
    Arbitrary<String> texts =
        Arbitraries.frequencyOf(
                Tuple.of(4, FrameArbitraries.jsonFrames()),
                Tuple.of(3, FrameArbitraries.damaged(FrameArbitraries.jsonFrames())),
                Tuple.of(2, Arbitraries.strings().ofMaxLength(100)))
            // what is sent is the text's UTF-8, so the model must see text that survives that (no
            // lone surrogates)
            .filter(
                t ->
                    t.equals(
                        new String(t.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)));
    Arbitrary<byte[]> control = Arbitraries.bytes().array(byte[].class).ofMaxSize(125);
    Arbitrary<Message> message =
        Arbitraries.frequencyOf(
            Tuple.of(40, texts.map(Message.Text::new)),
            Tuple.of(
                10,
                texts
                    .filter(t -> !t.isEmpty())
                    .flatMap(
                        t ->
                            Arbitraries.integers()
                                .between(1, 40)
                                .map(n -> new Message.Fragmented(t, n)))),
            Tuple.of(
                1, Arbitraries.bytes().array(byte[].class).ofMaxSize(64).map(Message.Binary::new)),
            Tuple.of(
                1,
                Arbitraries.strings()
                    .ascii()
                    .ofMaxLength(20)
                    .filter(s -> s.chars().allMatch(c -> c < 128))
                    .flatMap(
                        s ->
                            Arbitraries.integers()
                                .between(0, INVALID_UTF8.size() - 1)
                                .map(i -> new Message.InvalidUtf8(s, i)))),
            Tuple.of(
                1,
                Arbitraries.integers()
                    .between(1, 3000)
                    .flatMap(
                        extra ->
                            Arbitraries.of(0, 100, 1000)
                                .map(f -> new Message.Oversized(extra, f)))),
            Tuple.of(4, control.map(Message.Ping::new)),
            Tuple.of(2, control.map(Message.Pong::new)));
    return message.list().ofMinSize(1).ofMaxSize(60);
  }
}
