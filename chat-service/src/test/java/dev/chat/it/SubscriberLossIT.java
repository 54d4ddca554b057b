package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Redis drops the nodes' subscriber connections ({@code CLIENT KILL TYPE pubsub}) while messages
 * flow: the live stream misses what was published meanwhile, and the nodes must repair it.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SubscriberLossIT {

  private static final int MESSAGES = 300;
  private static final int INSTANCES = 2;

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("sub")
          .env("CHAT_INSTANCES", Integer.toString(INSTANCES))
          .env("CHAT_RATE_LIMIT_PER_SEC", "100000")
          .env("CHAT_RATE_LIMIT_BURST", "100000")
          // no redelivery: every copy a client gets is one the live stream or a repair delivered
          .env("CHAT_ACK_TIMEOUT_MS", "60000")
          .nodes(2)
          .build();

  @Test
  @DisplayName(
      "messages sent while the subscriber connections are killed reach the other node exactly once each, in order")
  void subscriberKilledMidStream() throws Exception {
    String room = room();
    try (WsClient sender = WsClient.connect(cluster.a().wsUri(user("sender")));
        WsClient remote = WsClient.connect(cluster.b().wsUri(user("remote")));
        WsClient local = WsClient.connect(cluster.a().wsUri(user("local")));
        RespClient resp = cluster.redis().client()) {
      joinRoom(sender, room);
      joinRoom(remote, room);
      joinRoom(local, room);

      AtomicInteger acked = new AtomicInteger();
      CompletableFuture<Void> sending =
          CompletableFuture.runAsync(
              () -> {
                for (int i = 1; i <= MESSAGES; i++) {
                  String id = "m-" + i;
                  sender.send(send(room, id, "message " + i));
                  JsonObject ack =
                      sender.awaitMatching(
                          f -> "ack".equals(f.getString("type")) && id.equals(f.getString("id")),
                          WAIT);
                  assertThat(ack.getLong("seq")).isEqualTo(i);
                  acked.set(i);
                }
              });

      for (int kill : new int[] {MESSAGES / 4, MESSAGES / 2}) {
        awaitTrue(kill + " messages acked", WAIT, () -> acked.get() >= kill || sending.isDone());
        awaitTrue(
            "both nodes ready",
            WAIT,
            () ->
                cluster.a().httpStatus("/health/ready") == 200
                    && cluster.b().httpStatus("/health/ready") == 200);
        Object killed = resp.call("CLIENT", "KILL", "TYPE", "pubsub");
        assertThat(killed).as("subscriber connections killed").isEqualTo(2L * INSTANCES);
      }
      sending.get(WAIT.toMillis() * 3, TimeUnit.MILLISECONDS);
      assertThat(acked.get()).isEqualTo(MESSAGES);

      // a marker sent last: whatever a repair could still deliver arrives before it
      sender.send(send(room, "marker", "end"));
      for (WsClient receiver : new WsClient[] {remote, local}) {
        Map<Long, Integer> copies = new TreeMap<>();
        StringBuilder order = new StringBuilder();
        long[] last = {0};
        receiver.awaitMatching(
            f -> {
              if (!"message".equals(f.getString("type"))) {
                return false;
              }
              long seq = f.getLong("seq");
              copies.merge(seq, 1, Integer::sum);
              if (seq <= last[0]) {
                order.append(seq).append(" after ").append(last[0]).append("; ");
              }
              last[0] = Math.max(last[0], seq);
              return "marker".equals(f.getString("id"));
            },
            Duration.ofSeconds(20));
        assertThat(copies.keySet()).as("seqs received").hasSize(MESSAGES + 1);
        assertThat(copies.keySet()).first().isEqualTo(1L);
        assertThat(copies.keySet()).last().isEqualTo(MESSAGES + 1L);
        assertThat(copies)
            .as("copies of each seq")
            .allSatisfy((seq, n) -> assertThat(n).isEqualTo(1));
        assertThat(order.toString()).as("out of order").isEmpty();
      }
    }
  }
}
