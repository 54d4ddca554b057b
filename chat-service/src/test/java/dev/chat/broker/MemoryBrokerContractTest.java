package dev.chat.broker;

import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;

/** The broker contract against the embedded backend. */
@DisplayName("The embedded broker keeps the broker contract")
class MemoryBrokerContractTest extends BrokerContractTest {

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return MemoryBackends.sharingOneStore(settings);
  }
}
