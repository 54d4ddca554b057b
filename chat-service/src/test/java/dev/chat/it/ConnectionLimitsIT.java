package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Connections per user and per client address, counted across the cluster in Redis. The nodes trust
 * {@code X-Forwarded-For}, so each test gives its clients their own addresses.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("Connection limits per user and per address")
class ConnectionLimitsIT {

  private static final int PER_USER = 2;
  private static final int PER_IP = 3;
  private static final long LEASE_MS = 2_000;

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("limits")
          .env("CHAT_MAX_CONNECTIONS_PER_USER", Integer.toString(PER_USER))
          .env("CHAT_MAX_CONNECTIONS_PER_IP", Integer.toString(PER_IP))
          .env("CHAT_TRUST_PROXY", "true")
          .env("CHAT_NODE_LEASE_MS", Long.toString(LEASE_MS))
          .nodes(2)
          .build();

  private ChatNode a;
  private ChatNode b;

  @BeforeAll
  void start() {
    a = cluster.a();
    b = cluster.b();
  }

  private static String randomIp() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return "10." + r.nextInt(256) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254));
  }

  private WsClient connect(ChatNode node, String user, String forwardedFor) {
    WsClient c = WsClient.connect(node.wsUri(user), Map.of("X-Forwarded-For", forwardedFor));
    cluster.track(c);
    return c;
  }

  private static void assertAdmitted(WsClient c) {
    assertThat(c.welcome().getString("type")).isEqualTo("welcome");
  }

  private static void assertRefused(WsClient c) {
    assertThat(c.awaitClose(WAIT)).as("closed as over a limit").isEqualTo(1013);
  }

  /**
   * Retries until a connection of {@code user} is admitted; every attempt before must be refused
   * with 1013.
   */
  private void awaitAdmitted(ChatNode node, String user, String ip, Duration timeout) {
    List<Integer> refusals = new ArrayList<>();
    awaitTrue(
        user + " admitted again",
        timeout,
        () -> {
          WsClient c = connect(node, user, ip);
          try {
            assertAdmitted(c);
            return true;
          } catch (AssertionError closedInstead) {
            refusals.add(c.awaitClose(WAIT));
            c.close();
            return false;
          }
        });
    assertThat(refusals).allSatisfy(code -> assertThat(code).isEqualTo(1013));
  }

  @Test
  @DisplayName(
      "a user's connection over CHAT_MAX_CONNECTIONS_PER_USER, on either node, is closed with 1013 until one closes")
  void perUserAcrossNodes() {
    String alice = user("alice");
    WsClient first = connect(a, alice, randomIp());
    assertAdmitted(first);
    assertAdmitted(connect(b, alice, randomIp()));
    assertRefused(connect(a, alice, randomIp()));
    assertRefused(connect(b, alice, randomIp()));
    assertAdmitted(connect(b, user("bob"), randomIp()));

    first.close();
    awaitAdmitted(b, alice, randomIp(), WAIT);
  }

  @Test
  @DisplayName(
      "an address's connection over CHAT_MAX_CONNECTIONS_PER_IP, on either node, is closed with 1013; the last X-Forwarded-For hop counts")
  void perAddressAcrossNodes() {
    String ip = randomIp();
    assertAdmitted(connect(a, user("u1"), ip));
    assertAdmitted(connect(b, user("u2"), ip));
    WsClient third = connect(a, user("u3"), ip);
    assertAdmitted(third);
    assertRefused(connect(b, user("u4"), ip));
    // hops the client writes itself come first; the proxy appends the real one last
    assertRefused(connect(a, user("u5"), randomIp() + ", " + ip));
    assertAdmitted(connect(b, user("u6"), ip + ", " + randomIp()));

    third.close();
    awaitAdmitted(b, user("u7"), ip, WAIT);
  }

  @Test
  @DisplayName(
      "frames sent right after the upgrade, while the slots are being taken, are handled after the welcome")
  void framesBeforeTheWelcomeAreKept() {
    String room = LiveChecks.room();
    // Holds the slot scripts (writes) for a while, so the join surely arrives before they answer.
    try (RespClient client = cluster.redis().client()) {
      client.call("CLIENT", "PAUSE", "700", "WRITE");
    }
    try (RawWebSocket ws =
        RawWebSocket.connect(
            "127.0.0.1",
            a.port(),
            "/ws?user=" + user("eager"),
            Map.of("X-Forwarded-For", randomIp()))) {
      ws.sendText(LiveChecks.join(room).encode());
      assertThat(LiveChecks.awaitType(ws, "welcome")).isNotNull();
      assertThat(LiveChecks.awaitType(ws, "joined").getString("room")).isEqualTo(room);
    }
  }

  @Test
  @DisplayName(
      "a node that does not trust the proxy counts the socket's address and ignores X-Forwarded-For")
  void forwardedForIgnoredWithoutTrust() {
    try (ChatNode untrusting =
        ChatNode.builder()
            .name("limits-untrusting")
            .env("CHAT_INSTANCES", "1")
            .env("CHAT_MAX_CONNECTIONS_PER_IP", "2")
            .start()) {
      assertAdmitted(connect(untrusting, user("v1"), randomIp()));
      assertAdmitted(connect(untrusting, user("v2"), randomIp()));
      assertRefused(connect(untrusting, user("v3"), randomIp()));
    }
  }

  @Test
  @DisplayName("the connections of a node that died stop counting once its lease runs out")
  void deadNodesConnectionsExpire() {
    String carol = user("carol");
    try (ChatNode doomed = cluster.builder("limits-doomed", Map.of()).start()) {
      assertAdmitted(connect(doomed, carol, randomIp()));
      assertAdmitted(connect(doomed, carol, randomIp()));
      assertRefused(connect(a, carol, randomIp()));

      doomed.kill();
      // The dead node had one lease per event loop, reaped one at a time: each slot frees on its
      // own.
      awaitAdmitted(a, carol, randomIp(), Duration.ofMillis(LEASE_MS * 3 + 5_000));
      awaitAdmitted(b, carol, randomIp(), Duration.ofMillis(LEASE_MS * 3 + 5_000));
      assertRefused(connect(b, carol, randomIp()));
    }
  }
}
