package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.impl.RequestImpl;
import io.vertx.redis.client.impl.types.ErrorType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The command path of one event loop in Redis Cluster mode: each request goes to the master of its
 * first key's slot over one pipelined connection per master ({@link NodeCommands}), following
 * {@code MOVED} and {@code ASK} and retrying {@code TRYAGAIN}/{@code CLUSTERDOWN} briefly. The
 * topology is read at start, every {@code refreshMs}, and after every redirect or lost node.
 *
 * <p>vertx-redis-client's own cluster client routes the same way, but it keeps a dead node's
 * connection in its map for good and fails a whole reconnect while any master is down, so one
 * killed master would stop every shard; here a lost node costs only its own slots.
 *
 * <p>With replica acks, {@link #sendReplicated} pipelines a {@code WAIT} right behind the write on
 * the connection to the master that takes it, also after a redirect ({@link SharedWait}: one per
 * master connection).
 */
final class ClusterRouter {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterRouter.class);
  private static final int REDIRECTS = 5;

  private final Vertx vertx;
  private final NodeCommands nodes;
  private final ClusterTopologyReader reader;
  private final long refreshMs;
  private final int replicas;
  private final long replicasTimeoutMs;
  private final long timeoutMs;
  // The shared WAIT of each master's current connection; bounded by the cluster's nodes.
  private final Map<RedisAddress, Waits> waits = new HashMap<>();
  private ClusterTopology topology;
  private long timer = -1;
  private boolean reading;

  /**
   * Failed topology reads in a row. While reads fail, a redirect or a lost node does not start
   * another read before {@link #nextReadNanos} (backing off from 100 ms to {@code refreshMs}); the
   * periodic read still runs. Without it, every failed command of a starved node started a read
   * that failed at once, and each logged a warning (thousands a second under CPU starvation).
   */
  private int failedReads;

  private long nextReadNanos;
  private long reads;
  private boolean closed;

  ClusterRouter(Vertx vertx, List<String> seeds, long timeoutMs, long refreshMs) {
    this(vertx, seeds, timeoutMs, refreshMs, 0, 1);
  }

  /**
   * {@code replicas} must confirm each {@link #sendReplicated} write within {@code
   * replicasTimeoutMs}.
   */
  ClusterRouter(
      Vertx vertx,
      List<String> seeds,
      long timeoutMs,
      long refreshMs,
      int replicas,
      long replicasTimeoutMs) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.replicas = replicas;
    this.replicasTimeoutMs = replicasTimeoutMs;
    this.nodes = new NodeCommands(vertx, seeds.get(0), timeoutMs);
    this.reader = new ClusterTopologyReader(nodes, seeds.stream().map(RedisAddress::of).toList());
    this.refreshMs = refreshMs;
  }

  /** Reads the topology; fails if no seed answers, and keeps trying either way. */
  Future<Void> start() {
    timer = vertx.setPeriodic(refreshMs, t -> read());
    return read();
  }

  /** How many topology reads were started, for tests. */
  long topologyReads() {
    return reads;
  }

  /** True once a topology was read. */
  boolean connected() {
    return topology != null;
  }

  /** The slot's master in the topology last read, or null. */
  RedisAddress masterOf(int slot) {
    ClusterTopology t = topology;
    return t == null ? null : t.masterOf(slot);
  }

  Future<Response> send(Request request) {
    return sendAll(List.of(request)).map(r -> r.get(0));
  }

  /**
   * {@link #send}, then a {@code WAIT} for the replicas on the connection that ran {@code request}:
   * pipelined right behind it (or shared with the writes of the {@code WAIT} in flight there), on
   * the master a {@code MOVED} or {@code ASK} led to if one did. Fails with {@link
   * BrokerUnavailableException} when the replicas do not confirm in time; the write stays.
   */
  Future<Response> sendReplicated(Request request) {
    return route(List.of(request), true).map(r -> r.get(0));
  }

  /**
   * Sends {@code requests}, pipelined in order, to the master of the first key of the first one;
   * completes with every reply, or fails with the first error.
   */
  Future<List<Response>> sendAll(List<Request> requests) {
    return route(requests, false);
  }

  private Future<List<Response>> route(List<Request> requests, boolean replicated) {
    if (closed) {
      return Future.failedFuture(new BrokerUnavailableException("closed"));
    }
    if (topology == null) {
      refresh();
      return Future.failedFuture(
          new BrokerUnavailableException("the Redis Cluster topology is not known yet"));
    }
    int slot = slotOf(requests.get(0));
    RedisAddress master = slot < 0 ? anyMaster() : topology.masterOf(slot);
    if (master == null) {
      refresh();
      return Future.failedFuture(
          new BrokerUnavailableException("no Redis Cluster master serves slot " + slot));
    }
    Promise<List<Response>> done = Promise.promise();
    attempt(master, requests, false, REDIRECTS, replicated, done);
    return done.future();
  }

  Future<Void> close() {
    closed = true;
    vertx.cancelTimer(timer);
    waits.values().forEach(w -> w.shared.close());
    waits.clear();
    return nodes.close();
  }

  private void attempt(
      RedisAddress node,
      List<Request> requests,
      boolean asking,
      int redirects,
      boolean replicated,
      Promise<List<Response>> done) {
    List<Future<Response>> replies = new ArrayList<>(requests.size());
    NodeCommands.Link link = nodes.link(node);
    // Written back to back on the node's one connection: nothing of ours runs in between.
    Future<Response> ask = asking ? link.send(Request.cmd(Command.ASKING)) : null;
    for (Request r : requests) {
      replies.add(link.send(r));
    }
    // Queued behind the writes on the same connection, so it counts them, with no round trip of
    // its own. After a redirect this attempt's WAIT is not waited for: the write ran elsewhere.
    Future<Void> confirmed = replicated ? waitOn(node, link).afterWrites() : null;
    Future<?> all = ask == null ? Future.join(replies) : Future.join(ask, Future.join(replies));
    all.onComplete(
        ar -> {
          for (Future<Response> reply : replies) {
            if (reply.failed()) {
              retryOrFail(node, requests, redirects, replicated, reply.cause(), done);
              return;
            }
          }
          List<Response> result = new ArrayList<>(replies.size());
          replies.forEach(r -> result.add(r.result()));
          if (confirmed == null) {
            done.tryComplete(result);
            return;
          }
          confirmed.onComplete(
              w -> {
                if (w.succeeded()) {
                  done.tryComplete(result);
                } else {
                  // A demoted or lost master among the reasons: read who serves the slot now.
                  refresh();
                  done.tryFail(w.cause());
                }
              });
        });
  }

  /** The shared WAIT of {@code link}'s connection, a new one if the node's connection changed. */
  private SharedWait waitOn(RedisAddress node, NodeCommands.Link link) {
    Waits current = waits.get(node);
    if (current == null || !current.link.same(link)) {
      if (current != null) {
        current.shared.close();
      }
      current =
          new Waits(
              link,
              new SharedWait(
                  replicas, replicasTimeoutMs, r -> link.send(r, timeoutMs + replicasTimeoutMs)));
      waits.put(node, current);
    }
    return current.shared;
  }

  private record Waits(NodeCommands.Link link, SharedWait shared) {}

  private void retryOrFail(
      RedisAddress node,
      List<Request> requests,
      int redirects,
      boolean replicated,
      Throwable e,
      Promise<List<Response>> done) {
    String m = String.valueOf(e.getMessage());
    boolean moved = m.startsWith("MOVED ");
    boolean ask = m.startsWith("ASK ");
    if (!(e instanceof ErrorType)) {
      // Not an answer from Redis: the node is down or cut off, and a failover may be under way.
      refresh();
      done.tryFail(
          e instanceof BrokerUnavailableException
              ? e
              : new BrokerUnavailableException("Redis " + node + ": " + m));
    } else if (redirects <= 0) {
      done.tryFail(new BrokerUnavailableException("Redis Cluster: " + m));
    } else if (moved || ask) {
      if (moved) {
        refresh();
      }
      RedisAddress target = redirectTarget(m, node);
      if (target == null) {
        done.tryFail(new BrokerUnavailableException("Redis Cluster: " + m));
      } else {
        attempt(target, requests, ask, redirects - 1, replicated, done);
      }
    } else if (m.startsWith("TRYAGAIN") || m.startsWith("CLUSTERDOWN")) {
      // A slot being migrated or a cluster electing a master: briefly, then the sender retries.
      vertx.setTimer(100, t -> attempt(node, requests, false, redirects - 1, replicated, done));
    } else {
      done.tryFail(e);
    }
  }

  /** {@code MOVED <slot> <host>:<port>}; an empty host means the node we asked. */
  private static RedisAddress redirectTarget(String error, RedisAddress asked) {
    String[] parts = error.split(" ", -1);
    if (parts.length < 3) {
      return null;
    }
    String hostPort = parts[2].trim();
    int colon = hostPort.lastIndexOf(':');
    if (colon < 0) {
      return null;
    }
    String host = colon == 0 ? asked.host() : hostPort.substring(0, colon);
    try {
      return new RedisAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (IllegalArgumentException notAnAddress) {
      return null;
    }
  }

  private RedisAddress anyMaster() {
    List<ClusterTopology.Shard> shards = topology.shards();
    return shards.isEmpty() ? null : shards.get(0).master();
  }

  /**
   * The slot of a request's first key, or -1 without keys. The client's own key locator (its
   * command table) finds keys of any command, EVALSHA's and SPUBLISH's channel included.
   */
  static int slotOf(Request request) {
    List<byte[]> keys = ((RequestImpl) request).keys();
    return keys.isEmpty() ? -1 : Slots.slot(keys.get(0));
  }

  /** A read that a redirect or a lost node asks for: held back while reads keep failing. */
  private Future<Void> refresh() {
    if (failedReads > 0 && System.nanoTime() - nextReadNanos < 0) {
      return Future.succeededFuture();
    }
    return read();
  }

  private Future<Void> read() {
    if (closed || reading) {
      return Future.succeededFuture();
    }
    reading = true;
    reads++;
    return reader
        .read()
        .onComplete(
            ar -> {
              reading = false;
              if (ar.succeeded()) {
                if (failedReads > 0) {
                  LOG.info("cluster topology read again after {} failed reads", failedReads);
                  failedReads = 0;
                }
                if (topology == null || !topology.sameMasters(ar.result())) {
                  LOG.info("cluster command topology: {}", ar.result());
                }
                topology = ar.result();
              } else {
                failedReads++;
                long backoffMs = Math.min(refreshMs, 100L << Math.min(failedReads - 1, 10));
                nextReadNanos = System.nanoTime() + backoffMs * 1_000_000;
                if (failedReads == 1) {
                  LOG.warn(
                      "cannot read the cluster topology: {} (retrying; further failures at debug"
                          + " until a read succeeds)",
                      ar.cause().getMessage());
                } else {
                  LOG.debug("cannot read the cluster topology: {}", ar.cause().getMessage());
                }
              }
            })
        .mapEmpty();
  }
}
