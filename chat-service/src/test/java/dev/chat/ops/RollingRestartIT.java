package dev.chat.ops;

import static dev.chat.ops.ResumingClient.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.NginxServer;
import dev.chat.testing.RedisServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A rolling restart on loopback: three nodes on one Redis behind nginx (the shared
 * deploy/nginx/chat.conf), clients sending, acknowledging and resuming through nginx, and the nodes
 * restarted one by one with SIGTERM. Nothing acknowledged is lost or shown twice.
 */
@Timeout(120)
class RollingRestartIT {

  private static final int CLIENTS = 9;
  private static final long DRAIN_MS = 1_500;

  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  @Test
  @DisplayName(
      "restarting three nodes behind nginx one by one while clients send: every acked message "
          + "reaches every client exactly once, in seq order, and every socket ended with 1012")
  void rollingRestartLosesNothing() {
    RedisServer redis = keep(RedisServer.start());
    List<ChatNode> nodes = new ArrayList<>();
    for (String name : List.of("roll-1", "roll-2", "roll-3")) {
      nodes.add(keep(node(redis, name, null)));
    }
    NginxServer nginx = keep(NginxServer.start(nodes.stream().map(ChatNode::port).toList()));
    String room = "r-" + UUID.randomUUID().toString().substring(0, 8);
    List<ResumingClient> clients = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      String user = "u" + i + "-" + UUID.randomUUID().toString().substring(0, 6);
      clients.add(
          keep(
              ResumingClient.start(
                  user, room, List.of(nginx.wsUri(user)), Duration.ofMillis(100))));
    }
    assertThat(
            await(() -> clients.stream().allMatch(ResumingClient::joined), Duration.ofSeconds(60)))
        .as("every client joined through nginx; nginx error log:%n%s", nginx.errorLog())
        .isTrue();
    clients.forEach(c -> c.sending(true));

    for (int i = 0; i < nodes.size(); i++) {
      ChatNode old = nodes.get(i);
      int acksBefore = totalAcks(clients);
      assertThat(await(() -> totalAcks(clients) >= acksBefore + CLIENTS, Duration.ofSeconds(15)))
          .as("messages flow before %s restarts", old.name())
          .isTrue();
      List<ResumingClient> onIt =
          clients.stream().filter(c -> old.name().equals(c.node())).toList();
      assertThat(onIt).as("clients on %s when it gets SIGTERM", old.name()).isNotEmpty();

      old.terminate();
      old.waitForExit(Duration.ofMillis(DRAIN_MS + 10_000));
      assertThat(
              await(
                  () -> onIt.stream().noneMatch(c -> old.name().equals(c.node())),
                  Duration.ofSeconds(15)))
          .as("the clients of %s reconnected elsewhere", old.name())
          .isTrue();
      ChatNode restarted = keep(node(redis, old.name() + "b", old.port()));
      nodes.set(i, restarted);
    }
    int acksAfter = totalAcks(clients);
    assertThat(await(() -> totalAcks(clients) >= acksAfter + CLIENTS, Duration.ofSeconds(15)))
        .as("messages flow after the restart")
        .isTrue();

    clients.forEach(c -> c.sending(false));
    assertThat(
            await(
                () -> clients.stream().allMatch(ResumingClient::allAcked), Duration.ofSeconds(20)))
        .as("every message sent got its ack")
        .isTrue();
    DrainIT.assertEveryAckedMessageOnce(clients, Duration.ofSeconds(20));
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

  private static int totalAcks(List<ResumingClient> clients) {
    return clients.stream().mapToInt(ResumingClient::ackedCount).sum();
  }

  private ChatNode node(RedisServer redis, String name, Integer port) {
    ChatNode.Builder builder =
        ChatNode.builder()
            .name(name)
            .env("CHAT_NODE_ID", name.replaceAll("b+$", ""))
            .env("CHAT_REDIS_URL", redis.uri())
            .env("CHAT_INSTANCES", "1")
            .env("CHAT_DRAIN_MS", Long.toString(DRAIN_MS))
            .env("CHAT_NODE_LEASE_MS", "2000")
            .env("CHAT_HISTORY_MAX", "10000")
            .jvmArg("-XX:TieredStopAtLevel=1");
    if (port != null) {
      builder.env("CHAT_PORT", Integer.toString(port));
    }
    return builder.start();
  }

  private <T extends AutoCloseable> T keep(T resource) {
    resources.add(resource);
    return resource;
  }
}
