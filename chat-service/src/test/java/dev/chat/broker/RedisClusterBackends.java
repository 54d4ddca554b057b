package dev.chat.broker;

import static dev.chat.broker.BrokerNode.waitUntil;

import dev.chat.config.Config;
import dev.chat.metrics.Metrics;
import dev.chat.testing.RedisCluster;
import dev.chat.testing.RespClient;
import io.vertx.core.Context;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@link RedisBackends} on a Redis Cluster (3 masters, 3 replicas): backends in {@code
 * CHAT_REDIS_MODE=cluster} with every node as a seed, one cluster per test class.
 */
final class RedisClusterBackends implements AfterAllCallback, AutoCloseable {

  final RedisCluster cluster = RedisCluster.start();
  private final Map<Context, String> owners = new ConcurrentHashMap<>();

  Function<Context, Backend> backends(Map<String, String> settings) {
    Map<String, String> env = new HashMap<>();
    env.put("CHAT_REDIS_MODE", "cluster");
    env.put("CHAT_REDIS_URL", String.join(",", cluster.seedUris()));
    env.putAll(settings);
    Config config = Config.from(env);
    return context -> {
      String owner = "test-" + UUID.randomUUID().toString().substring(0, 8);
      owners.put(context, owner);
      return new RedisBackend(context.owner(), config, owner, Metrics.create(owner));
    };
  }

  String owner(BrokerNode node) {
    return owners.get(node.context());
  }

  /** A client of the master that now serves {@code key}'s slot. */
  RespClient clientFor(String key) {
    return cluster.masterOf(Slots.slot(key)).client();
  }

  /** Waits for the backend's first lease and its subscriber going live. */
  void settled(BrokerNode node) {
    String owner = owners.get(node.context());
    try (RespClient client = clientFor(RedisKeys.OWNERS)) {
      waitUntil(
          "the lease of " + owner,
          Duration.ofSeconds(10),
          () -> client.call("ZSCORE", RedisKeys.OWNERS, owner) != null);
    }
    waitUntil("the cluster subscriber live", Duration.ofSeconds(10), node::ready);
    node.read(BackendContract.room(), ReadRequest.stateOnly());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public void close() {
    cluster.close();
  }
}
