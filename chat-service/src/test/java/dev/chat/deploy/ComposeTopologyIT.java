package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.ClientFrames;
import dev.chat.testing.NginxServer;
import dev.chat.testing.Ports;
import dev.chat.testing.RedisServer;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The docker-compose topology without Docker: the compose file's chat services as real nodes (their
 * environment as written, but for the Redis address and the port), one real Redis, and a real nginx
 * running the compose server block (deploy/nginx/compose.conf) with the shared
 * deploy/nginx/chat.conf, the service names and container paths replaced by this machine's.
 */
@Timeout(90)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ComposeTopologyIT {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String API_KEY = "compose-api-key-" + UUID.randomUUID();

  private RedisServer redis;
  private final Map<String, ChatNode> nodes = new LinkedHashMap<>();
  private NginxServer nginx;
  private final List<WsClient> clients = new ArrayList<>();

  @BeforeAll
  void start() {
    ComposeFile compose = ComposeFile.load();
    redis = RedisServer.start();
    Map<String, Integer> ports = new LinkedHashMap<>();
    compose
        .chatServices()
        .forEach(
            (name, service) -> {
              ChatNode.Builder builder = ChatNode.builder().name(name);
              // The fixture picks the port (and picks again if another process takes it first).
              ComposeFile.environment(service)
                  .forEach(
                      (key, value) -> {
                        if (!key.equals("CHAT_PORT")) {
                          builder.env(key, value);
                        }
                      });
              builder.env("CHAT_REDIS_URL", redis.uri());
              // Two event loops per node keep three nodes light on a small machine.
              builder.env("CHAT_INSTANCES", "2");
              // The API on, so that refusing it is nginx's doing, not the nodes'.
              builder.env("CHAT_API_KEY", API_KEY);
              ChatNode node = builder.start();
              nodes.put(name, node);
              ports.put(name, node.port());
            });
    // Another process may take the chosen port before nginx binds it: choose again, twice.
    for (int attempt = 1; nginx == null; attempt++) {
      int listenPort = Ports.freePort();
      try {
        nginx =
            NginxServer.startHttp(
                localServerBlock(compose, "nginx", ports, listenPort), listenPort);
      } catch (IllegalStateException e) {
        if (attempt == 3 || !String.valueOf(e.getMessage()).contains("Address already in use")) {
          throw e;
        }
      }
    }
  }

  /**
   * The server block of the nginx service {@code nginxService} (compose.conf for "nginx") with each
   * mount's container path, each chat service and the listen port made local.
   */
  static String localServerBlock(
      ComposeFile compose, String nginxService, Map<String, Integer> ports, int listenPort) {
    Map<String, Object> service = compose.service(nginxService);
    String block = null;
    Map<String, String> paths = new LinkedHashMap<>();
    for (ComposeFile.Mount m : ComposeFile.bindMounts(service)) {
      paths.put(m.target(), m.source().toString());
      if (m.target().equals("/etc/nginx/conf.d/default.conf")) {
        block = Repo.read(Repo.root().relativize(m.source()).toString());
      }
    }
    assertThat(block).as("nginx's server block in docker-compose.yml").isNotNull();
    for (Map.Entry<String, String> p : paths.entrySet()) {
      block = block.replace(p.getKey(), p.getValue());
    }
    for (Map.Entry<String, Integer> node : ports.entrySet()) {
      block =
          block.replaceAll(
              "(?m)^(\\s*server\\s+)" + Pattern.quote(node.getKey()) + ":\\d+",
              "$1127.0.0.1:" + node.getValue());
    }
    Matcher listen = Pattern.compile("(?m)^(\\s*listen\\s+)\\d+;").matcher(block);
    assertThat(listen.find()).isTrue();
    return listen.replaceFirst("$1127.0.0.1:" + listenPort + ";");
  }

  @AfterAll
  void stop() {
    clients.forEach(WsClient::abort);
    if (nginx != null) {
      nginx.close();
    }
    nodes.values().forEach(ChatNode::kill);
    if (redis != null) {
      redis.close();
    }
  }

  @Test
  @Order(1)
  @DisplayName("the page and health are served through nginx")
  void pageThroughNginx() throws Exception {
    assertThat(get("/health/live").statusCode()).isEqualTo(200);
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Security-Policy")).isPresent();
  }

  @Test
  @Order(1)
  @DisplayName("nginx does not forward the server API, which every node serves directly")
  void serverApiIsNotPublic() throws Exception {
    for (String path : List.of("/api", "/api/openapi.json", "/api/rooms/general/presence")) {
      HttpResponse<String> through =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nginx.port() + path))
                  .header("Authorization", "Bearer " + API_KEY)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(through.statusCode()).as("GET %s through nginx", path).isEqualTo(404);
    }
    ChatNode node = nodes.values().iterator().next();
    HttpResponse<String> direct =
        HTTP.send(
            HttpRequest.newBuilder(node.httpUri("/api/openapi.json"))
                .header("Authorization", "Bearer " + API_KEY)
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(direct.statusCode()).as("the node itself serves it").isEqualTo(200);
  }

  @Test
  @Order(2)
  @DisplayName(
      "one user's connections through nginx are spread over all three nodes (no stickiness)")
  void connectionsAreSpread() {
    String user = "u-" + UUID.randomUUID().toString().substring(0, 8);
    List<String> landedOn = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      landedOn.add(connect(user).welcome().getString("node"));
    }
    assertThat(landedOn)
        .as("nodes of six connections from one address and user")
        .containsOnly(nodes.keySet().toArray(String[]::new))
        .containsAll(nodes.keySet());
  }

  @Test
  @Order(3)
  @DisplayName("a message sent through nginx reaches a member connected to another node")
  void messageCrossesNodes() {
    String room = "r-" + UUID.randomUUID().toString().substring(0, 8);
    WsClient alice = connect("alice-" + UUID.randomUUID().toString().substring(0, 6));
    String aliceNode = alice.welcome().getString("node");
    WsClient bob = null;
    for (int i = 0; i < 6 && bob == null; i++) {
      WsClient candidate = connect("bob-" + UUID.randomUUID().toString().substring(0, 6));
      if (!candidate.welcome().getString("node").equals(aliceNode)) {
        bob = candidate;
      }
    }
    assertThat(bob).as("a connection on a node other than %s", aliceNode).isNotNull();
    alice.send(ClientFrames.join(room));
    alice.await("joined", WAIT);
    bob.send(ClientFrames.join(room));
    bob.await("joined", WAIT);
    alice.send(ClientFrames.send(room, "m1", "hi via nginx"));
    JsonObject got =
        bob.awaitMatching(
            f -> "message".equals(f.getString("type")) && room.equals(f.getString("room")), WAIT);
    assertThat(got.getString("text")).isEqualTo("hi via nginx");
  }

  @Test
  @Order(4)
  @DisplayName(
      "after SIGTERM to one node, every new connection through nginx lands on the other two")
  void stoppedNodeIsPassedOver() {
    String stopped = nodes.keySet().iterator().next();
    ChatNode node = nodes.get(stopped);
    node.terminate();
    // Connect only once the node says it is draining (or is gone): a handshake that raced the
    // signal could still be accepted, and that is not what this test is about.
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (node.httpStatus("/health/ready") == 200) {
      assertThat(System.nanoTime())
          .as("%s still ready after SIGTERM", stopped)
          .isLessThan(deadline);
      Thread.onSpinWait();
    }
    String user = "u-" + UUID.randomUUID().toString().substring(0, 8);
    List<String> landedOn = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      landedOn.add(connect(user).welcome().getString("node"));
    }
    assertThat(landedOn).doesNotContain(stopped).hasSize(6);
  }

  private WsClient connect(String user) {
    WsClient client =
        WsClient.connect(URI.create("ws://127.0.0.1:" + nginx.port() + "/ws?user=" + user));
    clients.add(client);
    return client;
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nginx.port() + path))
            .timeout(WAIT)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
