package dev.chat.broker;

import io.vertx.core.Future;

/**
 * Where a dedicated connection dials, asked again before every attempt: the one configured URL in
 * standalone mode, the master the sentinels name now in sentinel mode.
 */
interface RedisEndpoint {

  /** The connection string of the node to dial now; fails when there is none to dial. */
  Future<String> next();

  /**
   * True when the node must say {@code master} to {@code ROLE} before a connection to it serves:
   * the sentinels may still name a demoted node, and a replica would take subscriptions that no
   * publish reaches and answer writes with {@code READONLY}.
   */
  boolean masterOnly();

  /** The configured URL, as is (it may also be a {@code unix://} socket). */
  static RedisEndpoint fixed(String url) {
    Future<String> uri = Future.succeededFuture(url);
    return new RedisEndpoint() {
      @Override
      public Future<String> next() {
        return uri;
      }

      @Override
      public boolean masterOnly() {
        return false;
      }
    };
  }

  /** The master {@code master} confirms at each attempt, with the sentinels' scheme and user. */
  static RedisEndpoint sentinel(SentinelMaster master, String seed) {
    return new RedisEndpoint() {
      @Override
      public Future<String> next() {
        return master.resolve().map(a -> a.uri(seed));
      }

      @Override
      public boolean masterOnly() {
        return true;
      }
    };
  }
}
