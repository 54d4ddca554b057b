package dev.chat.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Redis and real service nodes for one test class, as a JUnit 5 extension: registered as a
 * {@code static} {@code @RegisterExtension} field, it starts Redis and the nodes (in parallel)
 * before the class's first test, closes the clients a test {@link #track tracked} after each test,
 * and stops every node (also those a test {@link #startNode started}) and Redis after the last.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final ChatCluster cluster =
 *     ChatCluster.named("presence").nodes(2).env("CHAT_NODE_LEASE_MS", "3000").build();
 * }</pre>
 *
 * <p>A cluster built {@link Builder#perTest() perTest} starts before and stops after each test
 * instead, for tests that kill or restart what they were given: {@link #replace} puts a new node in
 * a slot (as a new pod would come back), {@link #restart} the same node again on its port (as a
 * rolling restart behind a fixed upstream).
 */
public final class ChatCluster
    implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {

  /**
   * Timers out of the way of a test that is not about them: acks time out after 30 s, heartbeats
   * after 30 s, and no rate limit a test would hit.
   */
  public static final Map<String, String> QUIET_TIMERS =
      Map.of(
          "CHAT_HEARTBEAT_INTERVAL_MS", "10000",
          "CHAT_HEARTBEAT_TIMEOUT_MS", "30000",
          "CHAT_ACK_TIMEOUT_MS", "30000",
          "CHAT_RATE_LIMIT_PER_SEC", "10000",
          "CHAT_RATE_LIMIT_BURST", "10000");

  private final String name;
  private final Map<String, String> env;
  private final List<NodeSpec> nodeSpecs;
  private final boolean namedConnections;
  private final boolean perTest;
  private final boolean snapshots;
  private final List<String> jvmArgs;
  private final boolean redisCluster;
  private RedisServer redis;
  private RedisCluster cluster;
  private final List<ChatNode> nodes = new ArrayList<>();
  // Per slot: the name its first node got, which stays its CHAT_NODE_ID through restarts.
  private final List<String> slotNames = new ArrayList<>();
  private int generation;
  private final List<ChatNode> extraNodes = new ArrayList<>();
  private final List<AutoCloseable> clients = new ArrayList<>();

  private ChatCluster(Builder builder) {
    this.name = builder.name;
    this.env = Map.copyOf(builder.env);
    this.nodeSpecs = List.copyOf(builder.nodeSpecs);
    this.namedConnections = builder.namedConnections;
    this.perTest = builder.perTest;
    this.snapshots = builder.snapshots;
    this.jvmArgs = List.copyOf(builder.jvmArgs);
    this.redisCluster = builder.redisCluster;
  }

  /** A cluster whose node names start with {@code name} (their {@code CHAT_NODE_ID}s and logs). */
  public static Builder named(String name) {
    return new Builder(name);
  }

  /** One node's settings beside the common ones; an embedded node runs without Redis. */
  private record NodeSpec(Map<String, String> overrides, boolean embedded) {}

  /** What the cluster is started with. */
  public static final class Builder {
    private final String name;
    private final Map<String, String> env = new LinkedHashMap<>(Map.of("CHAT_INSTANCES", "2"));
    private final List<NodeSpec> nodeSpecs = new ArrayList<>();
    private boolean namedConnections;
    private boolean perTest;
    private boolean snapshots;
    private final List<String> jvmArgs = new ArrayList<>();
    private boolean redisCluster;

    private Builder(String name) {
      this.name = name;
    }

    /** A setting for every node ({@code CHAT_INSTANCES=2} unless set). */
    public Builder env(String key, String value) {
      env.put(key, value);
      return this;
    }

    /** Settings for every node. */
    public Builder env(Map<String, String> settings) {
      env.putAll(settings);
      return this;
    }

    /** {@code count} more nodes with the common settings. */
    public Builder nodes(int count) {
      for (int i = 0; i < count; i++) {
        nodeSpecs.add(new NodeSpec(Map.of(), false));
      }
      return this;
    }

    /** One more node with the common settings and {@code overrides}. */
    public Builder node(Map<String, String> overrides) {
      nodeSpecs.add(new NodeSpec(Map.copyOf(overrides), false));
      return this;
    }

    /**
     * One more node on the embedded broker (no {@code CHAT_REDIS_URL}), with the common settings
     * and {@code overrides}.
     */
    public Builder embeddedNode(Map<String, String> overrides) {
      nodeSpecs.add(new NodeSpec(Map.copyOf(overrides), true));
      return this;
    }

    /**
     * Names each node's Redis connections after the node ({@code ?client=<name>} in its {@code
     * CHAT_REDIS_URL}), so a test can find and kill one node's connections with {@code CLIENT
     * LIST}/{@code CLIENT KILL}.
     */
    public Builder namedConnections() {
      namedConnections = true;
      return this;
    }

    /** A fresh Redis and fresh nodes for every test, stopped after it. */
    public Builder perTest() {
      perTest = true;
      return this;
    }

    /** Redis keeps RDB snapshots in its own directory ({@link RedisServer#startWithSnapshots}). */
    public Builder snapshots() {
      snapshots = true;
      return this;
    }

    /**
     * A Redis Cluster of 3 masters and 3 replicas ({@link RedisCluster}) instead of one Redis: the
     * nodes run in {@code CHAT_REDIS_MODE=cluster} with every cluster node as a seed. {@link
     * #redis()} is then null and {@link #redisCluster()} the cluster; {@link #snapshots()} and
     * {@link #namedConnections()} do not apply.
     */
    public Builder redisCluster() {
      redisCluster = true;
      return this;
    }

    /** An extra JVM option for every node. */
    public Builder jvmArg(String arg) {
      jvmArgs.add(arg);
      return this;
    }

    public ChatCluster build() {
      return new ChatCluster(this);
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (!perTest) {
      start();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (perTest) {
      start();
    }
  }

  private void start() {
    if (redisCluster) {
      cluster = RedisCluster.start();
    } else {
      redis = snapshots ? RedisServer.startWithSnapshots() : RedisServer.start();
    }
    List<CompletableFuture<ChatNode>> starting = new ArrayList<>();
    slotNames.clear();
    for (int i = 0; i < nodeSpecs.size(); i++) {
      String nodeName = name + "-" + (char) ('a' + i) + "-" + TestIds.random();
      slotNames.add(nodeName);
      NodeSpec spec = nodeSpecs.get(i);
      starting.add(
          CompletableFuture.supplyAsync(
              () -> builder(nodeName, spec.overrides(), !spec.embedded()).start()));
    }
    try {
      starting.forEach(f -> nodes.add(f.join()));
    } catch (CompletionException e) {
      starting.forEach(f -> f.thenAccept(ChatNode::close).exceptionally(x -> null));
      closeRedis();
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (perTest) {
      stop();
    } else {
      closeClients();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (!perTest) {
      stop();
    }
  }

  private void stop() {
    try {
      closeClients();
    } finally {
      synchronized (this) {
        extraNodes.forEach(ChatNode::close);
        nodes.forEach(ChatNode::close);
        extraNodes.clear();
        nodes.clear();
      }
      closeRedis();
    }
  }

  private void closeRedis() {
    if (redis != null) {
      redis.close();
      redis = null;
    }
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
  }

  /** The one Redis; null with {@link Builder#redisCluster()}. */
  public RedisServer redis() {
    return redis;
  }

  /** The Redis Cluster of a {@link Builder#redisCluster()} cluster, else null. */
  public RedisCluster redisCluster() {
    return cluster;
  }

  /** The node now in the {@code i}-th slot the builder named, from 0. */
  public synchronized ChatNode node(int i) {
    return nodes.get(i);
  }

  /** The nodes now in the builder's slots. */
  public synchronized List<ChatNode> nodes() {
    return List.copyOf(nodes);
  }

  /**
   * Puts a new node in slot {@code i}, with the slot's settings, a new name (its {@code
   * CHAT_NODE_ID}) and a new port, as a replaced pod comes back; the old one is killed if it still
   * runs.
   */
  public ChatNode replace(int i) {
    String nodeName;
    synchronized (this) {
      nodeName = slotNames.get(i) + "-" + ++generation;
    }
    return startInSlot(i, nodeName, Map.of());
  }

  /**
   * Starts slot {@code i}'s node again: the same {@code CHAT_NODE_ID} on the same port (as a
   * rolling restart behind a load balancer with fixed upstreams), after the old process exited (it
   * is killed if it still runs). Its log is the slot's name plus a generation.
   */
  public ChatNode restart(int i) {
    ChatNode old = node(i);
    String nodeName;
    synchronized (this) {
      nodeName = slotNames.get(i) + "-" + ++generation;
    }
    return startInSlot(
        i,
        nodeName,
        Map.of("CHAT_NODE_ID", slotNames.get(i), "CHAT_PORT", Integer.toString(old.port())));
  }

  private ChatNode startInSlot(int i, String nodeName, Map<String, String> extra) {
    ChatNode old = node(i);
    old.close();
    NodeSpec spec = nodeSpecs.get(i);
    ChatNode.Builder builder = builder(nodeName, spec.overrides(), !spec.embedded());
    extra.forEach(builder::env);
    ChatNode started = builder.start();
    synchronized (this) {
      nodes.set(i, started);
    }
    return started;
  }

  public ChatNode a() {
    return node(0);
  }

  public ChatNode b() {
    return node(1);
  }

  /**
   * A builder for one more node on this cluster's Redis with the common settings; a node started
   * through {@link #startNode} is stopped with the cluster.
   */
  public ChatNode.Builder builder(String nodeName, Map<String, String> overrides) {
    return builder(nodeName, overrides, true);
  }

  private ChatNode.Builder builder(
      String nodeName, Map<String, String> overrides, boolean onRedis) {
    ChatNode.Builder builder = ChatNode.builder().name(nodeName);
    env.forEach(builder::env);
    jvmArgs.forEach(builder::jvmArg);
    if (onRedis && cluster != null) {
      builder.env("CHAT_REDIS_MODE", "cluster");
      builder.env("CHAT_REDIS_URL", String.join(",", cluster.seedUris()));
      // a node reads the topology and subscribes on every master before it is ready
      builder.readyTimeout(Duration.ofSeconds(60));
    } else if (onRedis) {
      builder.env("CHAT_REDIS_URL", redis.uri() + (namedConnections ? "?client=" + nodeName : ""));
    }
    overrides.forEach(builder::env);
    return builder;
  }

  /** Starts one more node (common settings and {@code overrides}), stopped with the cluster. */
  public ChatNode startNode(String nodeName, Map<String, String> overrides) {
    ChatNode node = builder(nodeName, overrides).start();
    synchronized (this) {
      extraNodes.add(node);
    }
    return node;
  }

  /** A client of {@code user} on {@code node} that acknowledges every message it receives. */
  public ChatPeer connect(ChatNode node, String user) {
    return track(ChatPeer.connect(node, user, true));
  }

  /** A client that never acknowledges a message unless the test does it. */
  public ChatPeer connectWithoutAcks(ChatNode node, String user) {
    return track(ChatPeer.connect(node, user, false));
  }

  /** Closes {@code client} after the current test (or after the class, if used in a hook). */
  public synchronized <T extends AutoCloseable> T track(T client) {
    clients.add(client);
    return client;
  }

  /** Closes every tracked client now, the last tracked first. */
  public synchronized void closeClients() {
    for (AutoCloseable c : clients.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        // A client that fails to close is already gone; the next one still gets closed.
      }
    }
    clients.clear();
  }
}
