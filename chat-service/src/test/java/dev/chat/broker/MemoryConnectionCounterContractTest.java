package dev.chat.broker;

import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;

/** The connection counter contract against the embedded backend. */
@DisplayName("The embedded connection counter keeps the connection counter contract")
class MemoryConnectionCounterContractTest extends ConnectionCounterContractTest {

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return MemoryBackends.sharingOneStore(settings);
  }
}
