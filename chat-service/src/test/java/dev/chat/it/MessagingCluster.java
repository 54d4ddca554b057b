package dev.chat.it;

import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisServer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One real Redis and two real service nodes ({@code CHAT_INSTANCES=2} each, so rooms span four
 * event loops), shared by the tests of one class; {@link #connect} opens tracked clients that
 * {@link #closePeers} closes after each test.
 *
 * <p>The defaults keep the timers out of the way (acks time out after 30 s, no rate limit a test
 * would hit); a class that tests a timer overrides it with {@link #start}'s {@code env}.
 */
final class MessagingCluster implements AutoCloseable {

  private static final Map<String, String> DEFAULTS =
      Map.of(
          "CHAT_INSTANCES", "2",
          "CHAT_HEARTBEAT_INTERVAL_MS", "10000",
          "CHAT_HEARTBEAT_TIMEOUT_MS", "30000",
          "CHAT_ACK_TIMEOUT_MS", "30000",
          "CHAT_RATE_LIMIT_PER_SEC", "10000",
          "CHAT_RATE_LIMIT_BURST", "10000");

  private final RedisServer redis;
  private final ChatNode a;
  private final ChatNode b;
  private final List<ChatPeer> peers = new ArrayList<>();

  private MessagingCluster(RedisServer redis, ChatNode a, ChatNode b) {
    this.redis = redis;
    this.a = a;
    this.b = b;
  }

  /**
   * Starts Redis and nodes {@code <name>-a-<random>} and {@code <name>-b-<random>} (their {@code
   * CHAT_NODE_ID}s) in parallel; {@code env} overrides the defaults.
   */
  static MessagingCluster start(String name, Map<String, String> env) {
    RedisServer redis = RedisServer.start();
    Map<String, String> nodeEnv = new LinkedHashMap<>(DEFAULTS);
    nodeEnv.putAll(env);
    nodeEnv.put("CHAT_REDIS_URL", redis.uri());
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    CompletableFuture<ChatNode> a = startNode(name + "-a-" + suffix, nodeEnv);
    CompletableFuture<ChatNode> b = startNode(name + "-b-" + suffix, nodeEnv);
    try {
      return new MessagingCluster(redis, a.join(), b.join());
    } catch (CompletionException e) {
      a.thenAccept(ChatNode::close);
      b.thenAccept(ChatNode::close);
      redis.close();
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  private static CompletableFuture<ChatNode> startNode(String name, Map<String, String> env) {
    return CompletableFuture.supplyAsync(
        () -> {
          ChatNode.Builder builder = ChatNode.builder().name(name);
          env.forEach(builder::env);
          return builder.start();
        });
  }

  ChatNode a() {
    return a;
  }

  ChatNode b() {
    return b;
  }

  /** A client of {@code user} on {@code node} that acknowledges every message it receives. */
  ChatPeer connect(ChatNode node, String user) {
    return track(ChatPeer.connect(node, user, true));
  }

  /** A client that never acknowledges a message unless the test does it. */
  ChatPeer connectWithoutAcks(ChatNode node, String user) {
    return track(ChatPeer.connect(node, user, false));
  }

  private synchronized ChatPeer track(ChatPeer peer) {
    peers.add(peer);
    return peer;
  }

  /** Closes every client opened so far. */
  synchronized void closePeers() {
    peers.forEach(ChatPeer::close);
    peers.clear();
  }

  @Override
  public void close() {
    try {
      closePeers();
    } finally {
      a.close();
      b.close();
      redis.close();
    }
  }

  /** A fresh room name, so tests sharing the cluster never meet. */
  static String room() {
    return "r-" + random();
  }

  /** A fresh user id starting with {@code prefix}. */
  static String user(String prefix) {
    return prefix + "-" + random();
  }

  /** A fresh client message id. */
  static String id() {
    return "m-" + random();
  }

  private static String random() {
    return UUID.randomUUID().toString().substring(0, 8);
  }
}
