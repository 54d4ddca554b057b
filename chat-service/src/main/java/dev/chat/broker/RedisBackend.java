package dev.chat.broker;

import dev.chat.config.Config;
import dev.chat.config.RedisSettings;
import dev.chat.metrics.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.RedisOptions;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis backend of one event loop ("owner"): its broker, presence and connection counter share
 * one command connection, and one lease lets the survivors clear the presence and slots of a node
 * that died.
 *
 * <p>In sentinel mode both dedicated connections dial the master the sentinels confirm at each
 * attempt, and a {@link SentinelMaster} re-checks it every {@value #MASTER_RECHECK_MS} ms: a missed
 * {@code +switch-master}, or a master demoted without killing its clients, moves them too.
 */
public final class RedisBackend implements Backend {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBackend.class);
  static final long MASTER_RECHECK_MS = 2_000;

  private final String owner;
  private final Metrics metrics;
  private final RedisCommands commands;
  private final RedisBroker broker;
  private final RedisPresence presence;
  private final RedisConnectionCounter connections;
  private final RedisLease lease;
  private final SentinelMaster sentinelMaster;
  private boolean commandsConnectedBefore;
  private boolean closed;

  /** {@code owner} names this loop's presence and lease; unique per event loop in the cluster. */
  public RedisBackend(Vertx vertx, Config config, String owner, Metrics metrics) {
    this.owner = owner;
    this.metrics = metrics;
    RedisSettings redis = config.redis();
    RedisOptions options = new RedisOptions().setMaxWaitingHandlers(65_536);
    RedisEndpoint endpoint;
    if (redis.mode() == RedisSettings.Mode.SENTINEL) {
      this.sentinelMaster =
          new SentinelMaster(
              vertx,
              redis.seeds(),
              redis.sentinelMaster(),
              config.brokerTimeoutMs(),
              MASTER_RECHECK_MS,
              this::masterMoved);
      endpoint = RedisEndpoint.sentinel(sentinelMaster, redis.seeds().get(0));
    } else if (redis.mode() == RedisSettings.Mode.CLUSTER) {
      // The URL is a seed list; the router and the sharded subscriber dial the masters themselves.
      this.sentinelMaster = null;
      endpoint = RedisEndpoint.fixed(redis.seeds().get(0));
    } else {
      this.sentinelMaster = null;
      endpoint = RedisEndpoint.fixed(config.redisUrl());
    }
    this.commands =
        redis.mode() == RedisSettings.Mode.CLUSTER
            ? new RedisCommands(
                vertx,
                new ClusterRouter(
                    vertx,
                    redis.seeds(),
                    config.brokerTimeoutMs(),
                    RedisBroker.CLUSTER_REFRESH_MS,
                    redis.replicasAck(),
                    redis.replicasAckTimeoutMs()),
                config.brokerTimeoutMs(),
                redis.replicasAck(),
                this::onCommandsConnected)
            : new RedisCommands(
                vertx,
                options,
                endpoint,
                config.brokerTimeoutMs(),
                redis.replicasAck(),
                redis.replicasAckTimeoutMs(),
                this::onCommandsConnected);
    long probeMs = Math.max(200, Math.min(1_000, config.nodeLeaseMs() / 5));
    this.broker =
        new RedisBroker(
            vertx, config, owner, commands, new RedisOptions(options), endpoint, probeMs, metrics);
    this.presence = new RedisPresence(vertx, commands, broker, owner, probeMs);
    this.connections = new RedisConnectionCounter(commands, owner);
    this.lease =
        new RedisLease(
            vertx,
            commands,
            owner,
            config.nodeLeaseMs(),
            List.of(presence::reap, connections::reap),
            this::leaseLost);
  }

  @Override
  public Broker broker() {
    return broker;
  }

  @Override
  public Presence presence() {
    return presence;
  }

  @Override
  public ConnectionCounter connections() {
    return connections;
  }

  @Override
  public Future<Void> start() {
    lease.start();
    if (sentinelMaster != null) {
      // Only its re-checks matter here: every dial asks the sentinels itself.
      sentinelMaster
          .start()
          .onFailure(e -> LOG.warn("no Redis master confirmed at start: {}", e.getMessage()));
    }
    // Start even when Redis is down: the node reports not ready and keeps reconnecting.
    return Future.all(commands.start(), broker.start())
        // A previous process with the same owner (a node restarted under the same CHAT_NODE_ID
        // before its lease ran out) left presence behind; renewing the lease would keep it forever.
        .compose(v -> lease.reap(owner))
        .onSuccess(v -> lease.renew())
        .onFailure(e -> LOG.warn("redis not reachable at start, retrying: {}", e.getMessage()))
        .otherwiseEmpty()
        .mapEmpty();
  }

  @Override
  public boolean ready() {
    return broker.live();
  }

  @Override
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    connections.clear();
    lease.stop();
    broker.stopProbing();
    presence.close();
    return lease
        .reap(owner)
        .otherwiseEmpty()
        .compose(
            v ->
                Future.all(
                        broker.close(),
                        commands.close(),
                        sentinelMaster == null ? Future.succeededFuture() : sentinelMaster.close())
                    .otherwiseEmpty())
        .mapEmpty();
  }

  private void masterMoved(RedisAddress master) {
    commands.masterMoved(master);
    broker.masterMoved(master);
  }

  private void leaseLost() {
    // Our presence went with the lease; the hub's resync registers it again, and the
    // reconciliation repairs whatever of that fails.
    presence.lost();
    broker.storeLost();
  }

  private void onCommandsConnected() {
    if (commandsConnectedBefore) {
      metrics.commandsReconnected();
    }
    if (commandsConnectedBefore && !closed) {
      // At once rather than at the next period: the lease is what lets the survivors reap this
      // owner if it dies, and finding it missing is how a Redis that lost its data is noticed.
      lease.renew();
    }
    commandsConnectedBefore = true;
    broker.commandsConnected();
    presence.commandsConnected();
  }
}
