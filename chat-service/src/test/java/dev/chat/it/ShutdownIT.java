package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitPresence;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.WsClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SIGTERM: a node stops being ready, closes every socket with 1012, announces its leaves, exits.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShutdownIT {

  private static final long DRAIN_MS = 3000;
  private static final Duration EXIT_MARGIN = Duration.ofSeconds(7);

  private final ExecutorService pollerThread = Executors.newSingleThreadExecutor();

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("shutdown").env("CHAT_DRAIN_MS", Long.toString(DRAIN_MS)).nodes(1).build();

  private ChatNode survivor;

  @BeforeAll
  void start() {
    survivor = cluster.a();
  }

  private ChatNode.Builder node(String name) {
    return cluster.builder(name, Map.of());
  }

  @AfterAll
  void stop() {
    pollerThread.shutdownNow();
  }

  @Test
  @DisplayName(
      "on SIGTERM every client is closed with 1012, readiness turns 503, leaves reach the other node and the process exits in time")
  void gracefulShutdown() throws Exception {
    String room = room();
    String u1 = user("leaving");
    String u2 = user("leaving");
    try (ChatNode doomed = node("doomed").start();
        WsClient watcher = WsClient.connect(survivor.wsUri(user("watcher")));
        WsClient c1 = WsClient.connect(doomed.wsUri(u1));
        WsClient c2 = WsClient.connect(doomed.wsUri(u2));
        WsClient idle = WsClient.connect(doomed.wsUri(user("idle")))) {
      joinRoom(watcher, room);
      joinRoom(c1, room);
      joinRoom(c2, room);
      awaitPresence(watcher, room, "join", u1);
      awaitPresence(watcher, room, "join", u2);
      assertThat(idle.welcome().getString("type")).isEqualTo("welcome");

      // readiness polled back to back from before the SIGTERM until the node stops answering
      List<Integer> statuses = new CopyOnWriteArrayList<>();
      AtomicBoolean polling = new AtomicBoolean(true);
      CompletableFuture<Void> poller =
          CompletableFuture.runAsync(
              () -> {
                int status;
                do {
                  status = doomed.httpStatus("/health/ready");
                  statuses.add(status);
                } while (polling.get() && status != -1);
              },
              pollerThread);
      LiveChecks.awaitTrue("the poller saw the node ready", WAIT, () -> statuses.contains(200));
      long terminated = System.nanoTime();
      doomed.terminate();

      for (WsClient client : List.of(c1, c2, idle)) {
        assertThat(client.awaitClose(WAIT)).isEqualTo(1012);
      }
      // the two leaves come in either order
      Map<String, Integer> leaves = new HashMap<>();
      watcher.awaitMatching(
          f -> {
            if ("presence".equals(f.getString("type")) && "leave".equals(f.getString("event"))) {
              leaves.put(f.getString("user"), f.getInteger("online"));
            }
            return leaves.keySet().containsAll(Set.of(u1, u2));
          },
          WAIT);
      assertThat(leaves.keySet()).containsExactlyInAnyOrder(u1, u2);
      assertThat(leaves.values()).containsExactlyInAnyOrder(1, 2);

      doomed.waitForExit(Duration.ofMillis(DRAIN_MS).plus(EXIT_MARGIN));
      Duration toExit = Duration.ofNanos(System.nanoTime() - terminated);
      polling.set(false);
      poller.get(5, TimeUnit.SECONDS);
      // 200 until the SIGTERM, then 503, then nothing answers (the port is closed)
      assertThat(statuses).as("readiness from before the SIGTERM to the exit").contains(503);
      List<Integer> afterReady = statuses.subList(statuses.indexOf(503), statuses.size());
      assertThat(afterReady).as("after the first 503").containsOnly(503, -1);
      assertThat(afterReady.subList(afterReady.indexOf(-1), afterReady.size()))
          .as("once refused")
          .containsOnly(-1);
      assertThat(toExit).isLessThan(Duration.ofMillis(DRAIN_MS).plus(EXIT_MARGIN));
      assertThat(survivor.httpStatus("/health/ready")).isEqualTo(200);
    }
  }
}
