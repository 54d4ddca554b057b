package dev.chat.broker;

import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;

/** The presence contract against the embedded backend. */
@DisplayName("The embedded presence keeps the presence contract")
class MemoryPresenceContractTest extends PresenceContractTest {

  @Override
  protected Function<Context, Backend> backends(Map<String, String> settings) {
    return MemoryBackends.sharingOneStore(settings);
  }
}
