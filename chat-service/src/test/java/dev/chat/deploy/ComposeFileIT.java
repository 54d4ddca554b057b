package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.chat.config.Config;
import dev.chat.testing.ChatNode;
import dev.chat.testing.Ports;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * docker-compose.yml: validated by docker-compose itself against the Compose schema (no engine
 * needed for that), then read and held to the service's settings, health routes and drain, and to
 * the shared nginx configuration.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ComposeFileIT {

  /**
   * Stopping after the drain window: last close handshakes (1 s), broker leaves (2 s), the rest; at
   * most 6 s even when Redis hangs (docs/operations.md, "Graceful drain").
   */
  private static final long STOP_MARGIN_MS = 6_000;

  private static final Pattern UPSTREAM_SERVER =
      Pattern.compile("(?m)^\\s*server\\s+([\\w.-]+):(\\d+)\\b");

  private ComposeFile compose;
  private Map<String, Map<String, Object>> chats;

  @BeforeAll
  void load() {
    compose = ComposeFile.load();
    chats = compose.chatServices();
  }

  @Test
  @DisplayName("docker-compose accepts the file (its own schema validation, no engine needed)")
  void composeValidatesIt() throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder("docker-compose", "-f", "docker-compose.yml", "config", "-q")
            .directory(Repo.root().toFile())
            .redirectErrorStream(true);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new AssertionError(
          "docker-compose is needed to validate docker-compose.yml; install it,"
              + " e.g. apt-get install --no-install-recommends docker-compose (.ci/run does): "
              + e.getMessage(),
          e);
    }
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("docker-compose config finished").isTrue();
    assertThat(process.exitValue()).as("docker-compose config: %s", out).isZero();
  }

  @Test
  @DisplayName(
      "the services are Redis, three chat nodes built from chat-service/Dockerfile, and nginx")
  void services() {
    assertThat(compose.services().keySet())
        .containsExactlyInAnyOrder("redis", "chat1", "chat2", "chat3", "nginx");
    assertThat(chats.keySet()).containsExactlyInAnyOrder("chat1", "chat2", "chat3");
    chats.forEach(
        (name, chat) ->
            assertThat(ComposeFile.map(chat, "build").get("context"))
                .as("%s build context (the parent pom is at the root)", name)
                .isEqualTo("."));
  }

  @Test
  @DisplayName(
      "each chat node sets only variables the service reads, a valid configuration and its own CHAT_NODE_ID")
  void chatEnvironment() {
    Set<String> nodeIds = new HashSet<>();
    chats.forEach(
        (name, chat) -> {
          Map<String, String> env = ComposeFile.environment(chat);
          assertThat(env.keySet())
              .as("%s environment", name)
              .allSatisfy(
                  k ->
                      assertThat(ServiceEnvironment.allowed(k))
                          .as(
                              "%s sets %s, which the service does not read (known: %s)",
                              name, k, ServiceEnvironment.known())
                          .isTrue());
          Config config = ServiceEnvironment.config(env);
          assertThat(env).as("%s sets its node id", name).containsKey("CHAT_NODE_ID");
          assertThat(nodeIds.add(config.nodeId()))
              .as("%s's CHAT_NODE_ID %s is unique", name, config.nodeId())
              .isTrue();
          assertThat(config.redisUrl())
              .as("%s uses the redis service", name)
              .isEqualTo("redis://redis:6379");
          // Trusting X-Forwarded-For is only safe when nothing but nginx can reach the node.
          assertThat(config.trustProxy())
              .as("%s takes the client address from nginx", name)
              .isTrue();
          assertThat(chat)
              .as("%s publishes no port", name)
              .doesNotContainKeys("ports", "network_mode");
        });
  }

  @Test
  @DisplayName("chat nodes start after Redis is healthy, and nginx after the chat nodes are")
  void startOrder() {
    chats.forEach(
        (name, chat) ->
            assertThat(ComposeFile.map(ComposeFile.map(chat, "depends_on"), "redis"))
                .as("%s depends_on redis", name)
                .containsEntry("condition", "service_healthy"));
    Map<String, Object> nginxDeps = ComposeFile.map(compose.service("nginx"), "depends_on");
    assertThat(nginxDeps.keySet()).containsExactlyInAnyOrderElementsOf(chats.keySet());
    nginxDeps.forEach(
        (name, dep) ->
            assertThat(ComposeFile.asMap(dep, name)).containsEntry("condition", "service_healthy"));
  }

  @Test
  @DisplayName("every service has a healthcheck; the chat nodes' asks /health/ready on CHAT_PORT")
  void healthchecks() {
    compose
        .services()
        .forEach(
            (name, service) ->
                assertThat(ComposeFile.healthcheck(service, name))
                    .as("%s healthcheck", name)
                    .isNotEmpty()
                    .first()
                    .isEqualTo("CMD"));
    chats.forEach(
        (name, chat) -> {
          String script = String.join(" ", ComposeFile.healthcheck(chat, name));
          int port = ServiceEnvironment.config(ComposeFile.environment(chat)).port();
          assertThat(script).contains("/dev/tcp/127.0.0.1/" + port, "GET /health/ready ");
        });
  }

  @Test
  @DisplayName(
      "the chat healthcheck passes on a ready node, fails on one answering 503 and where nothing listens")
  void chatHealthcheckWorks() throws Exception {
    Map<String, Object> chat1 = chats.get("chat1");
    int port = ServiceEnvironment.config(ComposeFile.environment(chat1)).port();
    List<String> command = ComposeFile.healthcheck(chat1, "chat1");
    try (ChatNode node = ChatNode.builder().name("compose-health").start()) {
      assertThat(runHealthcheck(command, port, node.port())).as("against a ready node").isZero();
    }
    HttpServer notReady =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    notReady.createContext(
        "/health/ready",
        exchange -> {
          exchange.sendResponseHeaders(503, -1);
          exchange.close();
        });
    notReady.start();
    try {
      assertThat(runHealthcheck(command, port, notReady.getAddress().getPort()))
          .as("against 503")
          .isNotZero();
    } finally {
      notReady.stop(0);
    }
    assertThat(runHealthcheck(command, port, Ports.freePort()))
        .as("against a closed port")
        .isNotZero();
  }

  @Test
  @DisplayName("Docker waits longer than the drain window before it kills a chat node")
  void stopGracePeriodCoversTheDrain() {
    chats.forEach(
        (name, chat) -> {
          long drainMs =
              ServiceEnvironment.drainWindowMs(
                  ServiceEnvironment.config(ComposeFile.environment(chat)));
          assertThat(chat).as("%s stop_grace_period", name).containsKey("stop_grace_period");
          assertThat(ComposeFile.durationMs(chat.get("stop_grace_period")))
              .as(
                  "%s stop_grace_period, against drain %d ms + %d ms",
                  name, drainMs, STOP_MARGIN_MS)
              .isGreaterThan(drainMs + STOP_MARGIN_MS);
        });
  }

  @Test
  @DisplayName("nginx serves deploy/nginx/chat.conf over chat1..3 on CHAT_PORT, published on 8080")
  void nginxUsesTheSharedConfiguration() {
    Map<String, Object> nginx = compose.service("nginx");
    List<ComposeFile.Mount> mounts = ComposeFile.bindMounts(nginx);
    Map<String, Path> byTarget = new LinkedHashMap<>();
    mounts.forEach(
        m -> {
          assertThat(m.readOnly()).as("%s mounted read-only", m.target()).isTrue();
          byTarget.put(m.target(), m.source());
        });
    assertThat(byTarget).containsEntry("/etc/nginx/chat.conf", Repo.path("deploy/nginx/chat.conf"));
    Path server = byTarget.get("/etc/nginx/conf.d/default.conf");
    assertThat(server).as("the server block, in place of the image's default").isNotNull();
    String wrapper = Repo.read(Repo.root().relativize(server).toString());
    assertThat(wrapper).contains("include /etc/nginx/chat.conf;").contains("upstream chat_nodes");
    assertThat(wrapper).doesNotContain("ip_hash", "hash ", "sticky");

    List<String> upstreams = new ArrayList<>();
    Matcher m = UPSTREAM_SERVER.matcher(wrapper);
    while (m.find()) {
      upstreams.add(m.group(1) + ":" + m.group(2));
    }
    List<String> expected = new ArrayList<>();
    chats.forEach(
        (name, chat) ->
            expected.add(
                name + ":" + ServiceEnvironment.config(ComposeFile.environment(chat)).port()));
    assertThat(upstreams).containsExactlyInAnyOrderElementsOf(expected);

    Matcher listen = Pattern.compile("(?m)^\\s*listen\\s+(\\d+);").matcher(wrapper);
    assertThat(listen.find()).as("listen in %s", server).isTrue();
    assertThat(nginx.get("ports"))
        .asInstanceOf(InstanceOfAssertFactories.LIST)
        .containsExactly("8080:" + listen.group(1));
  }

  @Test
  @DisplayName("every image is pinned to a version tag")
  void imagesArePinned() {
    Set<String> images = new TreeSet<>();
    compose
        .services()
        .forEach(
            (name, service) -> {
              assertThat(service).as("%s names its image", name).containsKey("image");
              images.add(String.valueOf(service.get("image")));
            });
    assertThat(images).allSatisfy(KubernetesManifestsIT::assertPinned);
  }

  /**
   * Runs the healthcheck's command here, aimed at {@code actualPort} instead of the container's.
   */
  private static int runHealthcheck(List<String> test, int composePort, int actualPort)
      throws Exception {
    List<String> command = new ArrayList<>();
    for (String arg : test.subList(1, test.size())) {
      command.add(
          arg.replace("/dev/tcp/127.0.0.1/" + composePort, "/dev/tcp/127.0.0.1/" + actualPort));
    }
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getInputStream().transferTo(OutputStream.nullOutputStream());
    assertThat(process.waitFor(10, TimeUnit.SECONDS)).as("healthcheck finished").isTrue();
    return process.exitValue();
  }
}
