package dev.chat.broker;

import static dev.chat.broker.BrokerNode.waitUntil;

import dev.chat.config.Config;
import dev.chat.metrics.Metrics;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import io.vertx.core.Context;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Redis backends for the contract suites: one Redis for a test class, registered as an instance
 * {@code @RegisterExtension} field of a (per-class) contract suite, which closes it after the
 * class; every backend has its own owner, as every event loop of every node has.
 */
final class RedisBackends implements AfterAllCallback, AutoCloseable {

  final RedisServer redis = RedisServer.start();
  private final Map<Context, String> owners = new ConcurrentHashMap<>();
  private final Map<Context, URI> redisOf = new ConcurrentHashMap<>();

  Function<Context, Backend> backends(Map<String, String> settings) {
    Map<String, String> env = new HashMap<>(Map.of("CHAT_REDIS_URL", redis.uri()));
    env.putAll(settings);
    Config config = Config.from(env);
    return context -> {
      String owner = "test-" + UUID.randomUUID().toString().substring(0, 8);
      owners.put(context, owner);
      redisOf.put(context, URI.create(config.redisUrl()));
      return new RedisBackend(context.owner(), config, owner, Metrics.create(owner));
    };
  }

  String owner(BrokerNode node) {
    return owners.get(node.context());
  }

  /** Waits for the backend's first lease, and for the answer to it to have been handled. */
  void settled(BrokerNode node) {
    String owner = owners.get(node.context());
    URI uri = redisOf.get(node.context());
    try (RespClient client = RespClient.connect(uri.getHost(), uri.getPort())) {
      waitUntil(
          "the lease of " + owner,
          Duration.ofSeconds(5),
          () -> client.call("ZSCORE", "chat:owners", owner) != null);
    }
    // Replies come back in order on the backend's one command connection: once this read is
    // answered, so was the lease renewal before it.
    node.read(BackendContract.room(), ReadRequest.stateOnly());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public void close() {
    redis.close();
  }
}
