package dev.chat.broker;

import dev.chat.config.Config;
import io.vertx.core.Context;
import java.util.Map;
import java.util.function.Function;

/** Embedded backends for the contract suites: one {@link MemoryStore} per cluster, one per loop. */
final class MemoryBackends {

  private MemoryBackends() {}

  static Function<Context, Backend> sharingOneStore(Map<String, String> settings) {
    Config config = Config.from(settings);
    MemoryStore store =
        new MemoryStore(config.historyMax(), config.dedupWindowMs(), System::currentTimeMillis);
    return context -> new MemoryBackend(store, context, config.joinedUsersMax());
  }
}
