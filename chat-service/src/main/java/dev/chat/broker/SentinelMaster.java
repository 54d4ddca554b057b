package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the master of a Sentinel-monitored group and notices when it changes: asks the sentinels in
 * order ({@code SENTINEL get-master-addr-by-name}), believes the answer only once the node's {@code
 * ROLE} says master, and asks again every {@code recheckMs}, because a {@code +switch-master} event
 * can be missed (no subscription survives a lost sentinel connection).
 *
 * <p>vertx-redis-client's own sentinel mode is not used: by its Javadoc its autoFailover does not
 * keep subscriptions, and the broker keeps its own reconnect loop. Confined to one event loop.
 */
public final class SentinelMaster {

  private static final Logger LOG = LoggerFactory.getLogger(SentinelMaster.class);

  private final Vertx vertx;
  private final List<RedisAddress> sentinels;
  private final String name;
  private final long recheckMs;
  private final Consumer<RedisAddress> onChange;
  private final NodeCommands nodes;
  private RedisAddress current;
  // Set when a sentinel still names the current master but the node itself says replica: it was
  // demoted (REPLICAOF) and keeps its clients, which must leave it.
  private boolean currentDemoted;
  private long timer = -1;
  private boolean checking;
  private boolean closed;

  /**
   * {@code onChange} hears each newly confirmed master after the first, and null when the current
   * one says it is a replica now; {@code sentinelUris} lend their scheme and credentials to the
   * data nodes too.
   */
  public SentinelMaster(
      Vertx vertx,
      List<String> sentinelUris,
      String name,
      long timeoutMs,
      long recheckMs,
      Consumer<RedisAddress> onChange) {
    this.vertx = vertx;
    this.sentinels = sentinelUris.stream().map(RedisAddress::of).toList();
    this.name = name;
    this.recheckMs = recheckMs;
    this.onChange = onChange;
    this.nodes = new NodeCommands(vertx, sentinelUris.get(0), timeoutMs);
  }

  /** Resolves the master once and starts re-checking it; fails if no sentinel names a master. */
  public Future<RedisAddress> start() {
    timer = vertx.setPeriodic(recheckMs, t -> recheck());
    return resolve().onSuccess(a -> current = a);
  }

  /** The master last confirmed, or null before the first. */
  public RedisAddress current() {
    return current;
  }

  /** Asks the sentinels now; completes with the master once its ROLE confirms it. */
  public Future<RedisAddress> resolve() {
    return ask(0, null);
  }

  /**
   * Checks a fresh connection before it is used: closes it and fails when its node is not a master
   * (the sentinels may still name a demoted node). Send nothing else on it before.
   */
  public static Future<RedisConnection> requireMaster(RedisConnection c) {
    return MasterRole.require(c);
  }

  public Future<Void> close() {
    closed = true;
    vertx.cancelTimer(timer);
    return nodes.close();
  }

  private void recheck() {
    if (closed || checking) {
      return;
    }
    checking = true;
    currentDemoted = false;
    resolve()
        .onComplete(
            ar -> {
              checking = false;
              if (closed) {
                return;
              }
              if (ar.failed()) {
                LOG.warn("cannot confirm the Redis master: {}", ar.cause().getMessage());
                if (currentDemoted && current != null) {
                  LOG.warn("redis master {} of {} was demoted", current, name);
                  current = null;
                  onChange.accept(null);
                }
              } else if (!ar.result().equals(current)) {
                RedisAddress previous = current;
                current = ar.result();
                LOG.warn("redis master of {} moved from {} to {}", name, previous, current);
                if (previous != null) {
                  nodes.forget(previous);
                }
                onChange.accept(current);
              }
            });
  }

  private Future<RedisAddress> ask(int i, Throwable last) {
    if (i == sentinels.size()) {
      return Future.failedFuture(
          new BrokerUnavailableException(
              "no sentinel named a master for "
                  + name
                  + ": "
                  + (last == null ? "none asked" : last.getMessage())));
    }
    RedisAddress sentinel = sentinels.get(i);
    return nodes
        .send(sentinel, Request.cmd(Command.SENTINEL).arg("get-master-addr-by-name").arg(name))
        .compose(
            r ->
                r == null
                    ? Future.failedFuture(sentinel + " does not know " + name)
                    : Future.succeededFuture(
                        new RedisAddress(r.get(0).toString(), r.get(1).toInteger())))
        // a sentinel that lags behind a failover names the demoted node: ask the next one
        .compose(a -> role(a).compose(role -> confirmed(a, role)))
        .recover(e -> ask(i + 1, e));
  }

  private Future<String> role(RedisAddress node) {
    return nodes
        .send(node, Request.cmd(Command.ROLE))
        .map(r -> r.get(0).toString())
        .recover(
            e ->
                Future.failedFuture(
                    new BrokerUnavailableException(
                        "the named master " + node + " does not answer ROLE: " + e.getMessage())));
  }

  private Future<RedisAddress> confirmed(RedisAddress node, String role) {
    if (Objects.equals(role, "master")) {
      return Future.succeededFuture(node);
    }
    // mid-failover: the sentinels moved on before the node was promoted, or they lag behind
    nodes.forget(node);
    if (node.equals(current)) {
      currentDemoted = true;
    }
    return Future.failedFuture(
        new BrokerUnavailableException(node + " is a " + role + ", not the master of " + name));
  }
}
