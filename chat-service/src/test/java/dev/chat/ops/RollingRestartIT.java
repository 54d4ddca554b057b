package dev.chat.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.NginxServer;
import dev.chat.testing.ResumingChatClient;
import dev.chat.testing.ResumingClients;
import dev.chat.testing.TestIds;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A rolling restart on loopback: three nodes on one Redis behind nginx (the shared
 * deploy/nginx/chat.conf), clients sending, acknowledging and resuming through nginx, and the nodes
 * restarted one by one with SIGTERM. Nothing acknowledged is lost or shown twice.
 */
@Timeout(120)
class RollingRestartIT {

  private static final int CLIENTS = 9;
  private static final long DRAIN_MS = 1_500;

  private static final int NODES = 3;

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("roll")
          .perTest()
          .nodes(NODES)
          .env("CHAT_INSTANCES", "1")
          .env("CHAT_DRAIN_MS", Long.toString(DRAIN_MS))
          .env("CHAT_NODE_LEASE_MS", "2000")
          .env("CHAT_HISTORY_MAX", "10000")
          .jvmArg("-XX:TieredStopAtLevel=1")
          .build();

  @Test
  @DisplayName(
      "restarting three nodes behind nginx one by one while clients send: every acked message "
          + "reaches every client exactly once, in seq order, and every socket ended with 1012")
  void rollingRestartLosesNothing() {
    NginxServer nginx =
        cluster.track(NginxServer.start(cluster.nodes().stream().map(ChatNode::port).toList()));
    String room = "r-" + TestIds.random();
    ResumingClients fleet =
        cluster.track(ResumingClients.start(ResumingChatClient.Settings.sendingEvery(100)));
    for (int i = 0; i < CLIENTS; i++) {
      fleet.add("u" + i + "-" + TestIds.random(), room, List.of(nginx::wsUri));
    }
    List<ResumingChatClient> clients = fleet.clients();
    assertThat(
            fleet.await(
                () -> clients.stream().allMatch(ResumingChatClient::joined),
                Duration.ofSeconds(60)))
        .as("every client joined through nginx; nginx error log:%n%s", nginx.errorLog())
        .isTrue();
    fleet.sending(true);

    for (int i = 0; i < NODES; i++) {
      ChatNode old = cluster.node(i);
      int acksBefore = totalAcks(clients);
      assertThat(
              fleet.await(() -> totalAcks(clients) >= acksBefore + CLIENTS, Duration.ofSeconds(15)))
          .as("messages flow before %s restarts", old.name())
          .isTrue();
      List<ResumingChatClient> onIt =
          clients.stream().filter(c -> old.name().equals(c.node())).toList();
      assertThat(onIt).as("clients on %s when it gets SIGTERM", old.name()).isNotEmpty();

      old.terminate();
      old.waitForExit(Duration.ofMillis(DRAIN_MS + 10_000));
      assertThat(
              fleet.await(
                  () -> onIt.stream().noneMatch(c -> old.name().equals(c.node())),
                  Duration.ofSeconds(15)))
          .as("the clients of %s reconnected elsewhere", old.name())
          .isTrue();
      cluster.restart(i);
    }
    int acksAfter = totalAcks(clients);
    assertThat(fleet.await(() -> totalAcks(clients) >= acksAfter + CLIENTS, Duration.ofSeconds(15)))
        .as("messages flow after the restart")
        .isTrue();

    fleet.sending(false);
    fleet.awaitAll(
        "every message sent got its ack", ResumingChatClient::allAcked, Duration.ofSeconds(20));
    fleet.assertEveryAckedMessageOnce(Duration.ofSeconds(20));
    assertThat(clients)
        .as("every close a client saw")
        .allSatisfy(
            c ->
                assertThat(c.closes())
                    .allSatisfy(close -> assertThat(close.code()).isEqualTo(1012)));
    assertThat(clients.stream().mapToInt(c -> c.closes().size()).sum())
        .as("sockets closed by the restarts")
        .isGreaterThanOrEqualTo(CLIENTS);
  }

  private static int totalAcks(List<ResumingChatClient> clients) {
    return clients.stream().mapToInt(ResumingChatClient::ackedCount).sum();
  }
}
