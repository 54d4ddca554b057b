package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.chat.config.Config;
import dev.chat.config.RedisSettings;
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

  static final String CLUSTER = "cluster";
  static final String CLUSTER_INIT = "redis-cluster-init";

  private ComposeFile compose;
  private Map<String, Map<String, Object>> chats;
  private Map<String, Map<String, Object>> clusterChats;
  private Map<String, Map<String, Object>> allChats;

  @BeforeAll
  void load() {
    compose = ComposeFile.load();
    chats = compose.chatServices();
    clusterChats = compose.chatServices(CLUSTER);
    allChats = new LinkedHashMap<>(chats);
    allChats.putAll(clusterChats);
  }

  @Test
  @DisplayName(
      "docker-compose accepts the file, plain and with the cluster profile (its own schema validation, no engine needed)")
  void composeValidatesIt() throws Exception {
    assertComposeAccepts();
    assertComposeAccepts("--profile", CLUSTER);
  }

  private static void assertComposeAccepts(String... options) throws Exception {
    List<String> command = new ArrayList<>(List.of("docker-compose", "-f", "docker-compose.yml"));
    command.addAll(List.of(options));
    command.addAll(List.of("config", "-q"));
    ProcessBuilder builder =
        new ProcessBuilder(command).directory(Repo.root().toFile()).redirectErrorStream(true);
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
    assertThat(process.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
  }

  @Test
  @DisplayName(
      "the services are Redis, three chat nodes built from chat-service/Dockerfile, and nginx; the cluster profile adds six Redis Cluster nodes, its init, three chat nodes and an nginx")
  void services() {
    assertThat(compose.services(null).keySet())
        .as("what a plain `docker compose up` starts")
        .containsExactlyInAnyOrder("redis", "chat1", "chat2", "chat3", "nginx");
    assertThat(chats.keySet()).containsExactlyInAnyOrder("chat1", "chat2", "chat3");
    assertThat(compose.profileNames()).containsExactly(CLUSTER);
    assertThat(compose.services(CLUSTER).keySet())
        .containsExactlyInAnyOrder(
            "redis-node-1",
            "redis-node-2",
            "redis-node-3",
            "redis-node-4",
            "redis-node-5",
            "redis-node-6",
            "redis-cluster-init",
            "cluster-chat1",
            "cluster-chat2",
            "cluster-chat3",
            "cluster-nginx");
    assertThat(clusterChats.keySet())
        .containsExactlyInAnyOrder("cluster-chat1", "cluster-chat2", "cluster-chat3");
    allChats.forEach(
        (name, chat) ->
            assertThat(ComposeFile.map(chat, "build").get("context"))
                .as("%s build context (the parent pom is at the root)", name)
                .isEqualTo("."));
  }

  @Test
  @DisplayName(
      "each chat node (of every profile) sets only variables the service reads, a valid configuration and its own CHAT_NODE_ID")
  void chatEnvironment() {
    Set<String> nodeIds = new HashSet<>();
    allChats.forEach(
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
          if (chats.containsKey(name)) {
            assertThat(config.redis().mode()).isEqualTo(RedisSettings.Mode.STANDALONE);
            assertThat(config.redisUrl())
                .as("%s uses the redis service", name)
                .isEqualTo("redis://redis:6379");
          }
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
    assertNginxWaitsFor("nginx", chats);
  }

  private void assertNginxWaitsFor(String nginx, Map<String, Map<String, Object>> nodes) {
    Map<String, Object> nginxDeps = ComposeFile.map(compose.service(nginx), "depends_on");
    assertThat(nginxDeps.keySet()).as(nginx).containsExactlyInAnyOrderElementsOf(nodes.keySet());
    nginxDeps.forEach(
        (name, dep) ->
            assertThat(ComposeFile.asMap(dep, name)).containsEntry("condition", "service_healthy"));
  }

  @Test
  @DisplayName(
      "cluster profile: six cluster-enabled nodes with a node timeout of at least 2 s, each announcing its service name, and AOF as the default Redis has")
  void clusterNodes() {
    Map<String, Map<String, Object>> nodes = clusterNodes(compose);
    assertThat(nodes).hasSize(6);
    List<String> standalone = ComposeFile.command(compose.service("redis"), "redis");
    nodes.forEach(
        (name, node) -> {
          List<String> command = ComposeFile.command(node, name);
          assertThat(ComposeFile.option(command, "--cluster-enabled")).isEqualTo("yes");
          assertThat(Long.parseLong(ComposeFile.option(command, "--cluster-node-timeout")))
              .as("%s --cluster-node-timeout (ms)", name)
              .isGreaterThanOrEqualTo(2_000);
          assertThat(ComposeFile.option(command, "--cluster-announce-hostname"))
              .as("%s announces the name Docker's DNS resolves", name)
              .isEqualTo(name);
          assertThat(ComposeFile.option(command, "--cluster-preferred-endpoint-type"))
              .isEqualTo("hostname");
          assertThat(ComposeFile.option(command, "--cluster-config-file"))
              .as("nodes.conf in the working directory /data, on the node's volume")
              .doesNotContain("/");
          for (String option : List.of("--appendonly", "--appendfsync", "--save")) {
            assertThat(ComposeFile.option(command, option))
                .as("%s %s as redis has it", name, option)
                .isEqualTo(ComposeFile.option(standalone, option));
          }
          assertThat(node.get("volumes"))
              .asInstanceOf(InstanceOfAssertFactories.LIST)
              .singleElement()
              .asString()
              .matches("[\\w-]+:/data")
              .startsWith(name + "-data:");
        });
  }

  @Test
  @DisplayName(
      "cluster profile: the init creates the cluster from every node with one replica per master, once they are healthy; the chat nodes wait for it to finish")
  void clusterInit() {
    Map<String, Object> init = compose.service(CLUSTER_INIT);
    Map<String, Map<String, Object>> nodes = clusterNodes(compose);
    assertThat(ComposeFile.map(init, "depends_on").keySet())
        .containsExactlyInAnyOrderElementsOf(nodes.keySet());
    ComposeFile.map(init, "depends_on")
        .forEach(
            (name, dep) ->
                assertThat(ComposeFile.asMap(dep, name))
                    .containsEntry("condition", "service_healthy"));
    assertThat(init.get("restart")).as("a one-shot container").isEqualTo("no");
    String script = String.join(" ", ComposeFile.command(init, CLUSTER_INIT));
    Matcher create =
        Pattern.compile("redis-cli --cluster create ((?:[\\w.-]+:\\d+ )+)(.*)").matcher(script);
    assertThat(create.find()).as("redis-cli --cluster create in %s", script).isTrue();
    List<String> created = List.of(create.group(1).trim().split(" "));
    assertThat(created)
        .containsExactlyInAnyOrderElementsOf(
            nodes.keySet().stream().map(n -> n + ":" + redisPort(nodes.get(n), n)).toList());
    assertThat(create.group(2)).contains("--cluster-replicas 1", "--cluster-yes");
    clusterChats.forEach(
        (name, chat) ->
            assertThat(ComposeFile.map(chat, "depends_on"))
                .as("%s depends_on", name)
                .containsOnlyKeys(CLUSTER_INIT)
                .extractingByKey(CLUSTER_INIT)
                .asInstanceOf(InstanceOfAssertFactories.MAP)
                .containsEntry("condition", "service_completed_successfully"));
    assertNginxWaitsFor("cluster-nginx", clusterChats);
  }

  @Test
  @DisplayName(
      "cluster profile: each chat node runs CHAT_REDIS_MODE=cluster with every node of the profile as a seed")
  void clusterChatEnvironment() {
    Map<String, Map<String, Object>> nodes = clusterNodes(compose);
    List<String> seeds =
        nodes.keySet().stream()
            .map(n -> "redis://" + n + ":" + redisPort(nodes.get(n), n))
            .toList();
    clusterChats.forEach(
        (name, chat) -> {
          Config config = ServiceEnvironment.config(ComposeFile.environment(chat));
          assertThat(config.redis().mode()).as(name).isEqualTo(RedisSettings.Mode.CLUSTER);
          assertThat(config.redis().seeds()).as(name).containsExactlyElementsOf(seeds);
          assertThat(config.redis().replicasAck())
              .as("%s: replica acks are refused in cluster mode", name)
              .isZero();
        });
  }

  /** The cluster profile's Redis nodes: its services whose command is a cluster-enabled server. */
  static Map<String, Map<String, Object>> clusterNodes(ComposeFile compose) {
    Map<String, Map<String, Object>> nodes = new LinkedHashMap<>();
    compose
        .services(CLUSTER)
        .forEach(
            (name, service) -> {
              if (service.get("command") instanceof List<?> c
                  && !c.isEmpty()
                  && "redis-server".equals(c.get(0))
                  && c.contains("--cluster-enabled")) {
                nodes.put(name, service);
              }
            });
    return nodes;
  }

  /** The port a Redis service listens on: its --port, else Redis' default. */
  static int redisPort(Map<String, Object> service, String name) {
    String port = ComposeFile.option(ComposeFile.command(service, name), "--port");
    return port == null ? 6379 : Integer.parseInt(port);
  }

  @Test
  @DisplayName(
      "every long-running service has a healthcheck; the chat nodes' asks /health/ready on CHAT_PORT")
  void healthchecks() {
    compose
        .services()
        .forEach(
            (name, service) -> {
              if (name.equals(CLUSTER_INIT)) {
                assertThat(service).as("the one-shot init").doesNotContainKey("healthcheck");
                return;
              }
              assertThat(ComposeFile.healthcheck(service, name))
                  .as("%s healthcheck", name)
                  .isNotEmpty()
                  .first()
                  .isEqualTo("CMD");
            });
    allChats.forEach(
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
    allChats.forEach(
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
  @DisplayName(
      "nginx serves deploy/nginx/chat.conf over chat1..3 on CHAT_PORT, published on 8080; the cluster profile's over its own nodes, on 8081")
  void nginxUsesTheSharedConfiguration() {
    assertNginxServes("nginx", chats, "8080");
    assertNginxServes("cluster-nginx", clusterChats, "8081");
  }

  private void assertNginxServes(
      String nginxName, Map<String, Map<String, Object>> nodes, String published) {
    Map<String, Object> nginx = compose.service(nginxName);
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
    nodes.forEach(
        (name, chat) ->
            expected.add(
                name + ":" + ServiceEnvironment.config(ComposeFile.environment(chat)).port()));
    assertThat(upstreams).containsExactlyInAnyOrderElementsOf(expected);

    Matcher listen = Pattern.compile("(?m)^\\s*listen\\s+(\\d+);").matcher(wrapper);
    assertThat(listen.find()).as("listen in %s", server).isTrue();
    assertThat(nginx.get("ports"))
        .asInstanceOf(InstanceOfAssertFactories.LIST)
        .containsExactly(published + ":" + listen.group(1));
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
