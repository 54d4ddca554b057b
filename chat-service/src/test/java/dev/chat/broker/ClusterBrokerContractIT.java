package dev.chat.broker;

import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The broker contract against a Redis Cluster of 3 masters and 3 replicas. */
@DisplayName("In Redis Cluster mode the Broker contract holds")
class ClusterBrokerContractIT extends BrokerContractTest {

  @RegisterExtension final RedisClusterBackends redis = new RedisClusterBackends();

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return redis.backends(settings);
  }

  @Override
  protected void settled(BrokerNode node) {
    redis.settled(node);
  }
}
