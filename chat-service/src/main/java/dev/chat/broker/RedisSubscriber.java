package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dedicated Redis subscriber connection: it sends nothing but (UN)SUBSCRIBE, and after any loss
 * it reconnects and subscribes every wanted channel again.
 *
 * <p>vertx-redis-client never restores subscriptions (after a Redis restart or a killed connection
 * only {@code endHandler} fires), and PINGs on a subscribed connection lost messages (RESP2) or
 * never completed (RESP3), so liveness is proven elsewhere, end to end. A SUBSCRIBE future
 * completes when its bytes are written; only the {@code subscribe} push proves the subscription
 * live, so that push is what completes {@link #subscribe}.
 */
final class RedisSubscriber implements PubSub {

  private static final Logger LOG = LoggerFactory.getLogger(RedisSubscriber.class);

  private final Vertx vertx;
  private final RedisReconnect reconnect;
  private final BiConsumer<String, byte[]> onMessage;
  private final Runnable onRestored;
  private final long timeoutMs;
  private final Set<String> channels = new LinkedHashSet<>();
  private final Map<String, ArrayDeque<Promise<Void>>> confirmations = new HashMap<>();
  private volatile RedisConnection connection;
  private volatile boolean live;
  private boolean everLive;

  RedisSubscriber(
      Vertx vertx,
      RedisOptions options,
      RedisEndpoint endpoint,
      long timeoutMs,
      BiConsumer<String, byte[]> onMessage,
      Runnable onRestored) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.onMessage = onMessage;
    this.onRestored = onRestored;
    this.reconnect =
        new RedisReconnect(vertx, options, endpoint, timeoutMs, "subscriber", new Handler());
  }

  /**
   * The sentinels confirmed another master (or none): a subscription left on the old node hears
   * nothing published on the new one, so it is dropped and made again there.
   */
  void masterMoved(RedisAddress master) {
    reconnect.dropUnlessAt(master);
  }

  /**
   * Connects; completes once every wanted channel is confirmed, or fails on the first attempt's
   * error.
   */
  @Override
  public Future<Void> start() {
    return reconnect.start();
  }

  /** True while connected with every wanted channel confirmed. */
  @Override
  public boolean live() {
    return live;
  }

  @Override
  public Future<Void> subscribe(String channel) {
    channels.add(channel);
    if (connection == null) {
      return Future.failedFuture(
          new BrokerUnavailableException("Redis subscriber is not connected"));
    }
    Promise<Void> confirmed = Promise.promise();
    confirmations.computeIfAbsent(channel, c -> new ArrayDeque<>()).add(confirmed);
    RedisConnection c = connection;
    c.send(Request.cmd(Command.SUBSCRIBE).arg(channel)).onFailure(e -> reconnect.drop(c, e));
    return Deadline.within(vertx, confirmed.future(), timeoutMs, "SUBSCRIBE " + channel);
  }

  @Override
  public Future<Void> unsubscribe(String channel) {
    if (!channels.remove(channel) || connection == null) {
      return Future.succeededFuture();
    }
    return connection.send(Request.cmd(Command.UNSUBSCRIBE).arg(channel)).mapEmpty();
  }

  /** Drops the connection (its liveness probe failed); it is re-established as after any loss. */
  void reset(String why) {
    if (connection != null) {
      LOG.warn("redis subscriber reset: {}", why);
      reconnect.drop(connection, null);
    }
  }

  @Override
  public Future<Void> close() {
    connection = null;
    live = false;
    failConfirmations();
    return reconnect.close();
  }

  private final class Handler implements RedisReconnect.Handler {

    @Override
    public Future<Void> prepare(RedisConnection c) {
      connection = c;
      c.handler(RedisSubscriber.this::handle);
      return resubscribeAll(c);
    }

    @Override
    public void up(RedisConnection c) {
      live = true;
      LOG.info("redis subscriber live on {} channels", channels.size());
      if (everLive) {
        onRestored.run();
      }
      everLive = true;
    }

    @Override
    public void down(RedisConnection c, Throwable cause) {
      if (connection == c) {
        connection = null;
        live = false;
        failConfirmations();
      }
    }
  }

  private Future<Void> resubscribeAll(RedisConnection c) {
    if (channels.isEmpty()) {
      return Future.succeededFuture();
    }
    Request all = Request.cmd(Command.SUBSCRIBE);
    var waits = new java.util.ArrayList<Future<Void>>();
    for (String channel : channels) {
      all.arg(channel);
      Promise<Void> confirmed = Promise.promise();
      confirmations.computeIfAbsent(channel, k -> new ArrayDeque<>()).add(confirmed);
      waits.add(confirmed.future());
    }
    c.send(all).onFailure(e -> reconnect.drop(c, e));
    return Deadline.within(
            vertx, Future.all(waits), timeoutMs, "SUBSCRIBE of " + waits.size() + " channels")
        .onFailure(e -> reconnect.drop(c, e))
        .mapEmpty();
  }

  private void handle(Response push) {
    if ((push.type() != ResponseType.PUSH && push.type() != ResponseType.MULTI)
        || push.size() < 3) {
      return;
    }
    String kind = push.get(0).toString();
    switch (kind) {
      case "message" -> onMessage.accept(push.get(1).toString(), push.get(2).toBytes());
      case "subscribe" -> {
        ArrayDeque<Promise<Void>> waiting = confirmations.get(push.get(1).toString());
        if (waiting != null) {
          Promise<Void> p = waiting.poll();
          if (waiting.isEmpty()) {
            confirmations.remove(push.get(1).toString());
          }
          if (p != null) {
            p.tryComplete();
          }
        }
      }
      default -> {
        // unsubscribe confirmations need no action
      }
    }
  }

  private void failConfirmations() {
    var pending = new java.util.ArrayList<Promise<Void>>();
    confirmations.values().forEach(pending::addAll);
    confirmations.clear();
    pending.forEach(
        p -> p.tryFail(new BrokerUnavailableException("Redis subscriber connection lost")));
  }
}
