package dev.chat.http;

import dev.chat.broker.ConnectionCounter;
import dev.chat.config.Config;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a new connection's slots under {@code CHAT_MAX_CONNECTIONS_PER_IP} and {@code
 * CHAT_MAX_CONNECTIONS_PER_USER}, counted across the cluster by the broker, and gives them back
 * when it closes. One per event loop, like its broker.
 *
 * <p>A broker that cannot answer admits the connection uncounted: the limits guard against a few
 * clients taking too much, and refusing everyone during a Redis outage would be worse.
 */
final class ConnectionSlots {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionSlots.class);

  private final ConnectionCounter counter;
  private final int perAddress;
  private final int perUser;

  ConnectionSlots(ConnectionCounter counter, Config config) {
    this.counter = counter;
    this.perAddress = config.maxConnectionsPerIp();
    this.perUser = config.maxConnectionsPerUser();
  }

  /** Whether any limit is on; when none is, nothing needs taking. */
  boolean limited() {
    return perAddress > 0 || perUser > 0;
  }

  /** Completes with the slot keys taken, or with null when a limit refuses the connection. */
  Future<List<String>> take(String address, String user) {
    List<String> held = new ArrayList<>(2);
    return take("ip:" + address, perAddress, held)
        .compose(ok -> ok ? take("user:" + user, perUser, held) : Future.succeededFuture(false))
        .map(
            ok -> {
              if (ok) {
                return held;
              }
              release(held);
              return null;
            });
  }

  void release(List<String> held) {
    for (String key : held) {
      counter.release(key);
    }
  }

  private Future<Boolean> take(String key, int max, List<String> held) {
    if (max <= 0) {
      return Future.succeededFuture(true);
    }
    return counter
        .acquire(key, max)
        .map(
            taken -> {
              if (taken) {
                held.add(key);
              }
              return taken;
            })
        .otherwise(
            e -> {
              LOG.debug("connection slot not counted, the broker failed: {}", e.toString());
              return true;
            });
  }
}
