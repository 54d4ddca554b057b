package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitPresence;
import static dev.chat.it.LiveChecks.awaitType;
import static dev.chat.it.LiveChecks.join;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Slow consumers on a real node: a client that stops reading is closed with 4001 once its write
 * queue is full, instead of being buffered for without bound; a client that reads is never taken
 * for one. The node's ack and rate limits are out of the way, so only the write queue can close.
 */
@Timeout(90)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("A node with a slow consumer")
class SlowConsumerIT {

  private static final String TEXT = "s".repeat(3_900);

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("slow")
          .node(
              Map.of(
                  "CHAT_MAX_PENDING_ACKS", "1000000",
                  "CHAT_ACK_TIMEOUT_MS", "600000",
                  "CHAT_RATE_LIMIT_PER_SEC", "100000",
                  "CHAT_RATE_LIMIT_BURST", "100000",
                  "CHAT_FRAME_RATE_PER_SEC", "100000",
                  "CHAT_FRAME_BURST", "100000"))
          // The embedded broker answers a join in the turn that read it, before anything is
          // flushed.
          .embeddedNode(Map.of("CHAT_INSTANCES", "1", "CHAT_RATE_LIMIT_BURST", "100"))
          .build();

  private ChatNode node;
  private ChatNode embedded;

  @BeforeAll
  void start() {
    node = cluster.a();
    embedded = cluster.b();
  }

  @Test
  @DisplayName(
      "a client that stops reading while a sender floods its room is closed with 4001, not buffered without bound")
  void stoppedReaderIsClosed() throws InterruptedException {
    String room = room();
    String slowUser = user("slow");
    try (RawWebSocket slow =
            RawWebSocket.connect("127.0.0.1", node.port(), "/ws?user=" + slowUser, Map.of(), 4096);
        WsClient observer = WsClient.connect(node.wsUri(user("observer")))) {
      awaitType(slow, "welcome");
      slow.sendText(join(room).encode());
      awaitType(slow, "joined");
      joinRoom(observer, room);
      slow.pauseReading();

      AtomicBoolean sending = new AtomicBoolean(true);
      AtomicInteger sent = new AtomicInteger();
      Thread sender = new Thread(() -> flood(room, sending, sent), "sender");
      sender.setDaemon(true);
      sender.start();
      try {
        awaitPresence(observer, room, "leave", slowUser, Duration.ofSeconds(60));
      } finally {
        sending.set(false);
        sender.join(WAIT.toMillis());
      }

      slow.resumeReading();
      int messages = 0;
      int close = -1;
      while (close == -1) {
        RawWebSocket.Frame f = slow.readFrame(WAIT);
        if (f.opcode() == RawWebSocket.CLOSE) {
          close = f.closeCode();
        } else if (f.opcode() == RawWebSocket.TEXT && f.text().contains("\"type\":\"message\"")) {
          messages++;
        }
      }
      assertThat(close).isEqualTo(4001);
      assertThat(messages)
          .as("messages written before the close, of %d sent", sent.get())
          .isLessThan(sent.get());
    }
  }

  /** Sends long messages to {@code room}, at most 50 ahead of their acks, until told to stop. */
  private void flood(String room, AtomicBoolean sending, AtomicInteger sent) {
    try (WsClient sender = WsClient.connect(node.wsUri(user("sender")))) {
      joinRoom(sender, room);
      for (int batch = 0; sending.get() && batch < 400; batch++) {
        String last = null;
        for (int i = 0; i < 50; i++) {
          last = "b" + batch + "-" + i;
          sender.send(send(room, last, TEXT));
          sent.incrementAndGet();
        }
        String awaited = last;
        sender.awaitMatching(
            f -> "ack".equals(f.getString("type")) && awaited.equals(f.getString("id")), WAIT);
      }
    }
  }

  @Test
  @DisplayName(
      "a client that reads is not taken for a slow consumer when its join replays 50 long messages at once")
  void replayOfLongHistoryIsNotSlow() {
    String room = room();
    try (WsClient writer = WsClient.connect(embedded.wsUri(user("writer")))) {
      joinRoom(writer, room);
      for (int i = 0; i < 50; i++) {
        writer.send(send(room, "h" + i, "é".repeat(3_990)));
      }
      writer.awaitMatching(
          f -> "ack".equals(f.getString("type")) && "h49".equals(f.getString("id")), WAIT);
    }
    for (int k = 0; k < 3; k++) {
      try (WsClient reader = WsClient.connect(embedded.wsUri(user("reader")))) {
        JsonObject joined = joinRoom(reader, room);
        assertThat(joined.getLong("seq")).isEqualTo(50);
        for (int i = 0; i < 50; i++) {
          assertThat(reader.await("message", WAIT).getString("id")).isEqualTo("h" + i);
        }
        reader.sendText("{\"type\":\"ping\"}");
        assertThat(reader.await("pong", WAIT)).isNotNull();
        assertThat(reader.isClosed()).isFalse();
      }
    }
  }
}
