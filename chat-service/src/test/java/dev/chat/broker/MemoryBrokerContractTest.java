package dev.chat.broker;

import dev.chat.config.Config;
import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;

/**
 * The broker contract against the embedded broker: one {@link MemoryStore} per cluster, one broker
 * per loop.
 */
@DisplayName("The embedded broker keeps the broker contract")
class MemoryBrokerContractTest extends BrokerContractTest {

  @Override
  protected Function<Context, Broker> brokers(Map<String, String> settings) {
    Config config = Config.from(settings);
    MemoryStore store =
        new MemoryStore(config.historyMax(), config.dedupWindowMs(), System::currentTimeMillis);
    return context -> new MemoryBroker(store, context, config.joinedUsersMax());
  }
}
