package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitType;
import static dev.chat.it.LiveChecks.join;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.raw;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Flooding clients on a real node with one event loop, so that flooders and the client being
 * measured share a thread: floods are closed with 1008 and do not slow the others down.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("A node under a flood")
class FloodIT {

  private static final int FRAME_BURST = 300;
  private static final int SEND_BURST = 5;
  private static final int STRIKES = 20;
  private static final String PING = "{\"type\":\"ping\"}";

  private ChatNode node;

  @BeforeAll
  void start() {
    node =
        ChatNode.builder()
            .name("flood")
            .env("CHAT_INSTANCES", "1")
            .env("CHAT_FRAME_RATE_PER_SEC", "100")
            .env("CHAT_FRAME_BURST", Integer.toString(FRAME_BURST))
            .env("CHAT_RATE_LIMIT_PER_SEC", "5")
            .env("CHAT_RATE_LIMIT_BURST", Integer.toString(SEND_BURST))
            .env("CHAT_RATE_LIMIT_STRIKES", Integer.toString(STRIKES))
            .start();
  }

  @AfterAll
  void stop() {
    if (node != null) {
      node.close();
    }
  }

  /** Every text frame up to the server's close frame, and the close code (-1: none came). */
  private record Ending(List<JsonObject> frames, int closeCode) {
    long count(String type, String code) {
      return frames.stream()
          .filter(
              f ->
                  type.equals(f.getString("type"))
                      && (code == null || code.equals(f.getString("code"))))
          .count();
    }
  }

  private static Ending readToClose(RawWebSocket ws) {
    List<JsonObject> frames = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      RawWebSocket.Frame f = ws.pollFrame(Duration.ofMillis(100));
      if (f == null) {
        if (ws.tcpClosed(Duration.ZERO)) {
          return new Ending(frames, -1);
        }
        continue;
      }
      if (f.opcode() == RawWebSocket.CLOSE) {
        return new Ending(frames, f.closeCode());
      }
      if (f.opcode() == RawWebSocket.TEXT) {
        frames.add(new JsonObject(f.text()));
      }
    }
    throw new AssertionError("no close within " + WAIT + " after " + frames.size() + " frames");
  }

  /** Sends until the connection breaks or {@code count} frames went out. */
  private static void blast(int count, Runnable one) {
    try {
      for (int i = 0; i < count; i++) {
        one.run();
      }
    } catch (UncheckedIOException closedByServer) {
      // the server closed while we were still sending
    }
  }

  @Test
  @DisplayName(
      "a client that keeps sending after rate_limited is closed with 1008 after CHAT_RATE_LIMIT_STRIKES refusals")
  void sendFlood() {
    String room = room();
    try (RawWebSocket ws = raw(node.port(), user("sender"))) {
      awaitType(ws, "welcome");
      ws.sendText(join(room).encode());
      awaitType(ws, "joined");
      int[] n = {0};
      blast(100, () -> ws.sendText(send(room, "f-" + n[0]++, "flood").encode()));

      Ending end = readToClose(ws);
      assertThat(end.closeCode()).isEqualTo(1008);
      assertThat(end.count("error", "rate_limited")).isEqualTo(STRIKES);
      assertThat(end.count("ack", null)).isBetween((long) SEND_BURST, SEND_BURST + 10L);
    }
  }

  @Test
  @DisplayName("a flood of JSON pings is closed with 1008 once it exceeds the frame budget")
  void pingFlood() {
    try (RawWebSocket ws = raw(node.port(), user("pinger"))) {
      awaitType(ws, "welcome");
      blast(5 * FRAME_BURST, () -> ws.sendText(PING));

      Ending end = readToClose(ws);
      assertThat(end.closeCode()).isEqualTo(1008);
      assertThat(end.count("pong", null)).isBetween(FRAME_BURST - 1L, FRAME_BURST + 200L);
    }
  }

  @Test
  @DisplayName(
      "a flood of WebSocket ping frames counts against the same budget and is closed with 1008")
  void controlFrameFlood() {
    try (RawWebSocket ws = raw(node.port(), user("controls"))) {
      awaitType(ws, "welcome");
      blast(5 * FRAME_BURST, () -> ws.sendFrame(RawWebSocket.PING, true, new byte[] {1}));
      assertThat(readToClose(ws).closeCode()).isEqualTo(1008);
    }
  }

  @Test
  @DisplayName("a burst within the frame budget is answered in full and the connection stays open")
  void burstWithinBudget() {
    try (RawWebSocket ws = raw(node.port(), user("bursty"))) {
      awaitType(ws, "welcome");
      int burst = FRAME_BURST - 50;
      for (int i = 0; i < burst; i++) {
        ws.sendText(PING);
      }
      for (int i = 0; i < burst; i++) {
        awaitType(ws, "pong");
      }
      assertThat(ws.tcpClosed(Duration.ZERO)).isFalse();
    }
  }

  @Test
  @DisplayName(
      "while two clients flood the node's only event loop, another client's round trips stay fast (p99 < 500 ms)")
  void floodersDoNotSlowOthers() throws InterruptedException {
    AtomicBoolean flooding = new AtomicBoolean(true);
    List<Integer> flooderCloses = new CopyOnWriteArrayList<>();
    List<Thread> flooders = new ArrayList<>();
    for (int t = 0; t < 2; t++) {
      Thread flooder =
          new Thread(
              () -> {
                String room = room();
                String text = "x".repeat(3000);
                while (flooding.get()) {
                  try (RawWebSocket ws = raw(node.port(), user("flooder"))) {
                    ws.sendText(join(room).encode());
                    int[] n = {0};
                    blast(
                        2000,
                        () ->
                            ws.sendText(
                                n[0]++ % 2 == 0 ? PING : send(room, "f" + n[0], text).encode()));
                    flooderCloses.add(ws.awaitClose(WAIT));
                  } catch (RuntimeException | AssertionError e) {
                    flooderCloses.add(-2);
                  }
                }
              },
              "flooder-" + t);
      flooder.setDaemon(true);
      flooders.add(flooder);
      flooder.start();
    }

    List<Long> latencies = new ArrayList<>();
    try (WsClient client = WsClient.connect(node.wsUri(user("calm")))) {
      joinRoom(client, room());
      LiveChecks.awaitTrue("a flood under way", WAIT, () -> !flooderCloses.isEmpty());
      for (int i = 0; i < 100; i++) {
        long started = System.nanoTime();
        client.sendText(PING);
        client.await("pong", WAIT);
        latencies.add(Duration.ofNanos(System.nanoTime() - started).toMillis());
        LiveChecks.pause(Duration.ofMillis(15));
      }
      assertThat(client.isClosed()).isFalse();
    } finally {
      flooding.set(false);
      for (Thread f : flooders) {
        f.join(WAIT.toMillis());
      }
    }

    Collections.sort(latencies);
    long p99 = latencies.get(98);
    assertThat(p99).as("p99 round trip in ms; all: " + latencies).isLessThan(500);
    assertThat(flooderCloses).as("how the flooders' connections ended").contains(1008);
  }
}
