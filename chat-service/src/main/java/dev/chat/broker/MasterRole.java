package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;

/**
 * Checks a fresh connection's node is a master before anything else is sent on it. After a failover
 * a client may still reach the demoted node, which takes subscriptions (a cluster replica serves
 * SSUBSCRIBE for its master's slots without a redirect) but answers writes with {@code READONLY}.
 */
final class MasterRole {

  private MasterRole() {}

  /** Completes with {@code c} if its node says master; otherwise closes it and fails. */
  static Future<RedisConnection> require(RedisConnection c) {
    return c.send(Request.cmd(Command.ROLE))
        .compose(
            r -> {
              String role = r.get(0).toString();
              if ("master".equals(role)) {
                return Future.succeededFuture(c);
              }
              c.close();
              return Future.failedFuture(
                  new BrokerUnavailableException("the Redis node is a " + role + ", not a master"));
            });
  }
}
