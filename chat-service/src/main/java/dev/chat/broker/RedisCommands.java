package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One dedicated, pipelined Redis connection for commands and scripts, re-established after any
 * loss. A pooled client failed 4,976 of 5,000 concurrent PUBLISHes ("max wait queue size of 24"),
 * so every command of an event loop goes down this one connection instead.
 */
final class RedisCommands {

  private static final Logger LOG = LoggerFactory.getLogger(RedisCommands.class);

  private final Vertx vertx;
  private final Backoff backoff;
  private final Redis client;
  private final long timeoutMs;
  private final Runnable onConnected;
  private volatile RedisConnection connection;
  private boolean connecting;
  private boolean closed;

  RedisCommands(Vertx vertx, RedisOptions options, long timeoutMs, Runnable onConnected) {
    this.vertx = vertx;
    this.backoff = new Backoff(vertx);
    this.client = Redis.createClient(vertx, options);
    this.timeoutMs = timeoutMs;
    this.onConnected = onConnected;
  }

  Future<Void> start() {
    return connect();
  }

  boolean connected() {
    return connection != null;
  }

  Future<Response> send(Request request) {
    RedisConnection c = connection;
    if (c == null) {
      return Future.failedFuture(new BrokerUnavailableException("Redis is not connected"));
    }
    return Deadline.within(vertx, c.send(request), timeoutMs, "Redis " + request.command())
        .recover(e -> Future.failedFuture(unavailable(e)));
  }

  /**
   * Runs a script by its SHA-1, sending the source once when Redis does not have it (yet, or any
   * more).
   */
  Future<Response> eval(RedisScript script, List<String> keys, List<String> args) {
    return send(scriptRequest(Command.EVALSHA, script.sha1(), keys, args))
        .recover(
            e ->
                e.getMessage() != null && e.getMessage().contains("NOSCRIPT")
                    ? send(scriptRequest(Command.EVAL, script.source(), keys, args))
                    : Future.failedFuture(e));
  }

  Future<Void> close() {
    closed = true;
    backoff.cancel();
    RedisConnection c = connection;
    connection = null;
    Future<Void> done = c == null ? Future.succeededFuture() : c.close();
    // The client's own close completes on the acceptor thread: not chained, so close() stays on our
    // loop.
    done.onComplete(ar -> client.close());
    return done;
  }

  private static Request scriptRequest(
      Command cmd, String script, List<String> keys, List<String> args) {
    Request r = Request.cmd(cmd).arg(script).arg(keys.size());
    keys.forEach(r::arg);
    args.forEach(r::arg);
    return r;
  }

  private Future<Void> connect() {
    if (connecting || closed) {
      return Future.succeededFuture();
    }
    connecting = true;
    return client
        .connect()
        .onSuccess(
            c -> {
              connecting = false;
              if (closed) {
                c.close();
                return;
              }
              connection = c;
              backoff.reset();
              c.exceptionHandler(e -> lost(c, e));
              c.endHandler(v -> lost(c, null));
              LOG.info("redis command connection established");
              onConnected.run();
            })
        .onFailure(
            e -> {
              connecting = false;
              retryLater(e);
            })
        .mapEmpty();
  }

  private void lost(RedisConnection c, Throwable e) {
    if (connection != c) {
      return;
    }
    connection = null;
    LOG.warn("redis command connection lost: {}", e == null ? "closed" : e.getMessage());
    c.close();
    retryLater(e);
  }

  private void retryLater(Throwable e) {
    if (closed) {
      return;
    }
    long delay = backoff.schedule(this::connect);
    LOG.debug(
        "redis command connection retry in {} ms: {}", delay, e == null ? "" : e.getMessage());
  }

  private static Throwable unavailable(Throwable e) {
    if (e instanceof BrokerUnavailableException) {
      return e;
    }
    String m = e.getMessage();
    // Script and argument errors come back as Redis errors and are not a broker outage.
    if (m != null
        && (m.startsWith("ERR") || m.startsWith("NOSCRIPT") || m.startsWith("WRONGTYPE"))) {
      return e;
    }
    return new BrokerUnavailableException("Redis: " + m);
  }
}
