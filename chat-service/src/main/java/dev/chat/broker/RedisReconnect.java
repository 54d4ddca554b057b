package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one reconnect loop of our dedicated Redis connections (commands, subscriber): asks its {@link
 * RedisEndpoint} where to dial, checks the node is a master when the endpoint says it must be, lets
 * its owner prepare the connection before it serves, and after any loss or failed preparation dials
 * again with backoff until closed. At most one connection is being prepared or serving at a time.
 *
 * <p>vertx-redis-client's sentinel client with {@code autoFailover} is not used: by its Javadoc it
 * does not keep subscriptions, and one loop for both connection kinds keeps the behaviour the same.
 *
 * <p>The owner decides what a connection needs before it serves ({@link Handler#prepare}: reading
 * the dataset identity, resubscribing) and hears of every connection that goes ({@link
 * Handler#down}), whether it was serving or still being prepared.
 */
final class RedisReconnect {

  private static final Logger LOG = LoggerFactory.getLogger(RedisReconnect.class);

  /** What the owner of a connection does at each step; all on the owner's event loop. */
  interface Handler {

    /** Readies a fresh connection; the connection serves once this succeeds. */
    Future<Void> prepare(RedisConnection c);

    /** {@code c} is prepared and serves. */
    void up(RedisConnection c);

    /** {@code c} was lost or failed to prepare; it is closed and another is dialled. */
    void down(RedisConnection c, Throwable cause);
  }

  private final Vertx vertx;
  private final String name;
  private final long timeoutMs;
  private final Backoff backoff;
  private final RedisOptions options;
  private final RedisEndpoint endpoint;
  private final Handler handler;
  // One client per node dialled: closing a client closes its connections, so it is replaced only
  // when no connection of it is in use.
  private Redis client;
  private String clientUri;
  private RedisConnection current;
  private String currentUri;
  private boolean connecting;
  private boolean closed;

  /** {@code timeoutMs} bounds each dial; {@link Handler#prepare} bounds its own steps. */
  RedisReconnect(
      Vertx vertx,
      RedisOptions options,
      RedisEndpoint endpoint,
      long timeoutMs,
      String name,
      Handler handler) {
    this.vertx = vertx;
    this.name = name;
    this.timeoutMs = timeoutMs;
    this.backoff = new Backoff(vertx);
    this.options = options;
    this.endpoint = endpoint;
    this.handler = handler;
  }

  /** Dials; completes once the first connection serves, or fails with the first attempt's error. */
  Future<Void> start() {
    return connect();
  }

  /** Drops {@code c} if it is this loop's connection (being prepared or serving) and redials. */
  void drop(RedisConnection c, Throwable e) {
    if (c == null || current != c) {
      return;
    }
    current = null;
    LOG.warn("redis {} connection lost: {}", name, e == null ? "closed" : e.getMessage());
    c.close();
    handler.down(c, e);
    retryLater(e);
  }

  /**
   * Drops the connection unless its node is {@code master} (null: no node is confirmed master any
   * more): the sentinels moved the master, and a connection left on the old one would write into a
   * replica ({@code READONLY}) or listen where nothing is published.
   */
  void dropUnlessAt(RedisAddress master) {
    RedisConnection c = current;
    if (c != null && (master == null || !master.equals(address(currentUri)))) {
      drop(c, new BrokerUnavailableException("the Redis master moved to " + master));
    }
  }

  private static RedisAddress address(String uri) {
    try {
      return RedisAddress.of(uri);
    } catch (IllegalArgumentException notHostPort) {
      return null;
    }
  }

  /** Stops redialling and closes the connection. */
  Future<Void> close() {
    closed = true;
    backoff.cancel();
    RedisConnection c = current;
    current = null;
    Future<Void> done = c == null ? Future.succeededFuture() : c.close();
    // The client's own close completes on the acceptor thread: not chained, so close() stays on our
    // loop.
    Redis r = client;
    if (r != null) {
      done.onComplete(ar -> r.close());
    }
    return done;
  }

  private Future<Void> connect() {
    if (connecting || closed) {
      return Future.succeededFuture();
    }
    connecting = true;
    // Bounded: a server that accepts TCP but never answers the handshake (a paused or partitioned
    // Redis) would otherwise leave this attempt, and with it every later reconnect, pending for
    // good.
    Promise<RedisConnection> attempt = Promise.promise();
    Future<RedisConnection> dial =
        endpoint.next().compose(uri -> client(uri).connect().onComplete(attempt));
    return Deadline.within(vertx, dial, timeoutMs, "Redis " + name + " connect")
        .compose(
            c -> {
              connecting = false;
              if (closed) {
                return c.close();
              }
              current = c;
              currentUri = clientUri;
              c.exceptionHandler(e -> drop(c, e));
              c.endHandler(v -> drop(c, null));
              Future<RedisConnection> checked =
                  endpoint.masterOnly() ? MasterRole.require(c) : Future.succeededFuture(c);
              return checked
                  .compose(handler::prepare)
                  .onSuccess(
                      v -> {
                        if (current == c) {
                          backoff.reset();
                          handler.up(c);
                        }
                      })
                  .onFailure(e -> drop(c, e));
            })
        .onFailure(
            e -> {
              if (connecting) {
                // The dial itself failed; a failed preparation was dropped (and redials) above.
                connecting = false;
                // An attempt given up on may still succeed: its connection is not used.
                attempt.future().onSuccess(late -> late.close());
                retryLater(e);
              }
            });
  }

  private Redis client(String uri) {
    if (client == null || !Objects.equals(uri, clientUri)) {
      // Only dialled while no connection is in use, so the old client holds none.
      if (client != null) {
        client.close();
      }
      client = Redis.createClient(vertx, new RedisOptions(options).setConnectionString(uri));
      clientUri = uri;
    }
    return client;
  }

  private void retryLater(Throwable e) {
    if (closed) {
      return;
    }
    long delay = backoff.schedule(this::connect);
    LOG.debug(
        "redis {} connection retry in {} ms: {}", name, delay, e == null ? "" : e.getMessage());
  }
}
