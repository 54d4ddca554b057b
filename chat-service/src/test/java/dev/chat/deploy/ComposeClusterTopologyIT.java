package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.ClientFrames;
import dev.chat.testing.NginxServer;
import dev.chat.testing.Ports;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * docker-compose's "cluster" profile without Docker: its six Redis services as real {@code
 * redis-server} processes with the options their {@code command} gives, its init's script run here
 * by {@code sh} (which runs this machine's {@code redis-cli --cluster create}), its chat services
 * as real nodes with their environment, and a real nginx with compose-cluster.conf. Service names
 * become 127.0.0.1 and each container's port one of this machine's, as in {@link
 * ComposeTopologyIT}; nothing else is changed.
 */
@Timeout(180)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ComposeClusterTopologyIT {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String LOOPBACK = "127.0.0.1";

  private Path dir;
  private ComposeFile compose;
  private final Map<String, RedisServer> redis = new LinkedHashMap<>();

  /** "service:port" as the compose file names each Redis node, to "127.0.0.1:port" here. */
  private final Map<String, String> addresses = new LinkedHashMap<>();

  private final Map<String, ChatNode> nodes = new LinkedHashMap<>();
  private NginxServer nginx;
  private final List<WsClient> clients = new ArrayList<>();
  private String firstInitOutput;

  @BeforeAll
  void start() throws IOException {
    compose = ComposeFile.load();
    dir = Files.createTempDirectory("compose-cluster-");
    ComposeFileIT.clusterNodes(compose)
        .forEach(
            (name, service) -> {
              int port = portWithFreeBus();
              redis.put(name, RedisServer.process(port, null, localRedisArgs(name, service)));
              addresses.put(
                  name + ":" + ComposeFileIT.redisPort(service, name), LOOPBACK + ":" + port);
            });
    firstInitOutput = runInit();

    Map<String, Integer> ports = new LinkedHashMap<>();
    compose
        .chatServices(ComposeFileIT.CLUSTER)
        .forEach(
            (name, service) -> {
              ChatNode.Builder builder =
                  ChatNode.builder().name(name).readyTimeout(WAIT.plus(WAIT));
              ComposeFile.environment(service)
                  .forEach(
                      (key, value) -> {
                        if (!key.equals("CHAT_PORT")) {
                          builder.env(key, localize(value));
                        }
                      });
              builder.env("CHAT_INSTANCES", "2");
              ChatNode node = builder.start();
              nodes.put(name, node);
              ports.put(name, node.port());
            });
    for (int attempt = 1; nginx == null; attempt++) {
      int listenPort = Ports.freePort();
      try {
        nginx =
            NginxServer.startHttp(
                ComposeTopologyIT.localServerBlock(compose, "cluster-nginx", ports, listenPort),
                listenPort);
      } catch (IllegalStateException e) {
        if (attempt == 3 || !String.valueOf(e.getMessage()).contains("Address already in use")) {
          throw e;
        }
      }
    }
  }

  @AfterAll
  void stop() {
    clients.forEach(WsClient::abort);
    if (nginx != null) {
      nginx.close();
    }
    nodes.values().forEach(ChatNode::kill);
    redis.values().forEach(RedisServer::close);
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException ignored) {
        // a temp dir left behind is harmless
      }
    }
  }

  @Test
  @Order(1)
  @DisplayName(
      "the init's script makes a cluster of three masters with a replica each, every slot served, each node named as it announces itself")
  void initCreatesTheCluster() {
    assertThat(firstInitOutput).contains("[OK] All 16384 slots covered");
    Map<Integer, Integer> masterOfSlotStart = new TreeMap<>();
    Set<String> roles = new TreeSet<>();
    List<String> allRoles = new ArrayList<>();
    for (List<?> shard : shards()) {
      Map<String, Object> fields = pairs(shard);
      List<?> slots = (List<?>) fields.get("slots");
      List<?> shardNodes = (List<?>) fields.get("nodes");
      assertThat(shardNodes).as("a master and its replica").hasSize(2);
      for (Object n : shardNodes) {
        Map<String, Object> node = pairs((List<?>) n);
        allRoles.add(String.valueOf(node.get("role")));
        roles.add(String.valueOf(node.get("role")));
        // --cluster-announce-hostname (the service's name in compose, this machine's here) with
        // --cluster-preferred-endpoint-type hostname: clients are sent to the name.
        assertThat(node.get("hostname")).isEqualTo(LOOPBACK);
        assertThat(node.get("endpoint")).isEqualTo(LOOPBACK);
        if ("master".equals(node.get("role"))) {
          for (int i = 0; i + 1 < slots.size(); i += 2) {
            masterOfSlotStart.put(
                ((Long) slots.get(i)).intValue(), ((Long) node.get("port")).intValue());
          }
        }
      }
    }
    assertThat(allRoles).containsOnly("master", "replica").hasSize(6);
    assertThat(roles).containsExactly("master", "replica");
    assertThat(masterOfSlotStart.values()).doesNotHaveDuplicates().hasSize(3);
  }

  @Test
  @Order(2)
  @DisplayName(
      "the init run again, as by a later `docker compose up`, finds the cluster and succeeds without creating it anew")
  void initIsIdempotent() {
    Map<String, String> ids = new LinkedHashMap<>();
    redis.forEach((name, server) -> ids.put(name, call(server, "CLUSTER", "MYID").toString()));
    String again = runInit();
    assertThat(again).contains("the cluster exists already", "[OK] All 16384 slots covered");
    assertThat(again).doesNotContain("Performing hash slots allocation");
    redis.forEach(
        (name, server) ->
            assertThat(call(server, "CLUSTER", "MYID")).as(name).isEqualTo(ids.get(name)));
  }

  @Test
  @Order(3)
  @DisplayName(
      "the chat nodes are ready in cluster mode, and messages in rooms on every master cross nodes through nginx, each stored on its slot's master")
  void messagesCrossNodesOnEveryShard() {
    nodes.forEach(
        (name, node) -> assertThat(node.httpStatus("/health/ready")).as(name).isEqualTo(200));
    List<String> rooms = roomsOnEveryMaster();

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
    for (String room : rooms) {
      alice.send(ClientFrames.join(room));
      alice.await("joined", WAIT);
      bob.send(ClientFrames.join(room));
      bob.await("joined", WAIT);
    }
    for (String room : rooms) {
      alice.send(ClientFrames.send(room, "m-" + room, "hi in " + room));
      JsonObject got =
          bob.awaitMatching(
              f -> "message".equals(f.getString("type")) && room.equals(f.getString("room")), WAIT);
      assertThat(got.getString("text")).isEqualTo("hi in " + room);
    }
    for (String room : rooms) {
      String key = "chat:{" + room + "}:seq";
      RedisServer master = masterOf(slot(key));
      assertThat(call(master, "EXISTS", key)).as("%s on its slot's master", key).isEqualTo(1L);
    }
  }

  // --- the compose file, made local ------------------------------------------------------------

  /**
   * The service's command for this machine: its own port and data directory (the container's
   * working directory /data, its volume), 127.0.0.1 for the name it announces; every other option
   * as written.
   */
  private List<String> localRedisArgs(String name, Map<String, Object> service) {
    List<String> command = new ArrayList<>(ComposeFile.command(service, name));
    assertThat(command.remove(0)).isEqualTo("redis-server");
    int port = command.indexOf("--port");
    if (port >= 0) {
      command.subList(port, port + 2).clear();
    }
    int announce = command.indexOf("--cluster-announce-hostname");
    assertThat(command.get(announce + 1)).isEqualTo(name);
    command.set(announce + 1, LOOPBACK);
    Path data = dir.resolve(name);
    try {
      Files.createDirectories(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    command.addAll(List.of("--dir", data.toString()));
    return command;
  }

  /** Every "service:port" of a Redis node replaced by its address here. */
  private String localize(String value) {
    String local = value;
    for (Map.Entry<String, String> a : addresses.entrySet()) {
      local = local.replace(a.getKey(), a.getValue());
    }
    return local;
  }

  /** Runs the init service's command here, localized; fails unless it exits 0. */
  private String runInit() {
    List<String> command =
        ComposeFile.command(compose.service(ComposeFileIT.CLUSTER_INIT), "init").stream()
            .map(this::localize)
            .toList();
    assertThat(String.join(" ", command)).doesNotContain("redis-node-");
    Path log = dir.resolve("init-" + UUID.randomUUID() + ".log");
    try {
      Process p =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      boolean done = p.waitFor(120, TimeUnit.SECONDS);
      if (!done) {
        p.destroyForcibly();
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      assertThat(done).as("the init finished: %s", out).isTrue();
      assertThat(p.exitValue()).as("the init's exit status: %s", out).isZero();
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // --- the cluster as it is ----------------------------------------------------------------------

  private List<List<?>> shards() {
    Object reply = call(redis.values().iterator().next(), "CLUSTER", "SHARDS");
    List<List<?>> shards = new ArrayList<>();
    for (Object shard : (List<?>) reply) {
      shards.add((List<?>) shard);
    }
    return shards;
  }

  private RedisServer masterOf(long slot) {
    for (List<?> shard : shards()) {
      Map<String, Object> fields = pairs(shard);
      List<?> slots = (List<?>) fields.get("slots");
      for (int i = 0; i + 1 < slots.size(); i += 2) {
        if ((Long) slots.get(i) <= slot && slot <= (Long) slots.get(i + 1)) {
          for (Object n : (List<?>) fields.get("nodes")) {
            Map<String, Object> node = pairs((List<?>) n);
            if ("master".equals(node.get("role"))) {
              int port = ((Long) node.get("port")).intValue();
              return redis.values().stream()
                  .filter(r -> r.port() == port)
                  .findFirst()
                  .orElseThrow();
            }
          }
        }
      }
    }
    throw new AssertionError("no master serves slot " + slot);
  }

  /** Random room names until each of the three masters serves one. */
  private List<String> roomsOnEveryMaster() {
    Map<Integer, String> byMaster = new LinkedHashMap<>();
    for (int i = 0; i < 200 && byMaster.size() < 3; i++) {
      String room = "r-" + UUID.randomUUID().toString().substring(0, 8);
      byMaster.putIfAbsent(masterOf(slot("chat:{" + room + "}:seq")).port(), room);
    }
    assertThat(byMaster).as("rooms on each master").hasSize(3);
    return List.copyOf(byMaster.values());
  }

  private long slot(String key) {
    return (Long) call(redis.values().iterator().next(), "CLUSTER", "KEYSLOT", key);
  }

  private static Object call(RedisServer server, String... args) {
    try (RespClient c = server.client()) {
      return c.call(args);
    }
  }

  /** A RESP2 flat list of name, value, name, value… as a map. */
  private static Map<String, Object> pairs(List<?> flat) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      map.put(String.valueOf(flat.get(i)), flat.get(i + 1));
    }
    return map;
  }

  private WsClient connect(String user) {
    WsClient client =
        WsClient.connect(URI.create("ws://127.0.0.1:" + nginx.port() + "/ws?user=" + user));
    clients.add(client);
    return client;
  }

  /** The cluster bus listens on port + 10000, so both must be free and below 65536. */
  private static int portWithFreeBus() {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 30_000);
      if (free(port) && free(port + 10_000)) {
        return port;
      }
    }
    throw new IllegalStateException("no free port pair (p, p+10000) in 20000-40000");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
