package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One command connection per Redis node it is asked to talk to, opened on first use and again after
 * a loss: for the few commands the cluster and sentinel code addresses to one named node ({@code
 * CLUSTER SHARDS}, {@code SPUBLISH} probes, {@code SENTINEL}, {@code ROLE}). Confined to the event
 * loop that uses it.
 */
final class NodeCommands {

  private final Vertx vertx;
  private final String seed;
  private final long timeoutMs;
  private final Map<RedisAddress, Node> nodes = new HashMap<>();
  private boolean closed;

  /** {@code seed} lends its scheme and credentials to every node's connection string. */
  NodeCommands(Vertx vertx, String seed, long timeoutMs) {
    this.vertx = vertx;
    this.seed = seed;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Sends {@code request} to {@code address}; fails with the Redis error, or with {@link
   * BrokerUnavailableException} when the node cannot be reached or does not answer in time.
   */
  Future<Response> send(RedisAddress address, Request request) {
    return link(address).send(request);
  }

  /**
   * The node's connection as it is now (opened if there is none): what is sent through one link
   * goes down one connection, in order, which a {@code WAIT} after a write needs. A link outlives
   * its connection only to fail.
   */
  Link link(RedisAddress address) {
    if (closed) {
      return new Link(null, Future.failedFuture(new BrokerUnavailableException("closed")), address);
    }
    Node node = nodes.computeIfAbsent(address, this::node);
    return new Link(node, node.connection(), address);
  }

  /** One connection to one node, as {@link #link} found it. */
  final class Link {
    private final Node node;
    private final Future<RedisConnection> connection;
    private final RedisAddress address;

    private Link(Node node, Future<RedisConnection> connection, RedisAddress address) {
      this.node = node;
      this.connection = connection;
      this.address = address;
    }

    /** True if both are the same connection. */
    boolean same(Link other) {
      return other != null && other.connection == connection;
    }

    Future<Response> send(Request request) {
      return send(request, timeoutMs);
    }

    /** {@link NodeCommands#send}, answered within {@code withinMs}. */
    Future<Response> send(Request request, long withinMs) {
      Future<Response> reply =
          Deadline.within(
              vertx,
              connection.compose(c -> c.send(request)),
              withinMs,
              request.command() + " to " + address);
      // A node that does not answer may be cut off: the next call tries a fresh connection.
      return reply.onFailure(
          e -> {
            if (node != null && (connection.failed() || e instanceof BrokerUnavailableException)) {
              node.dropIf(connection);
            }
          });
    }
  }

  /** Closes the connection to a node no longer needed. */
  void forget(RedisAddress address) {
    Node node = nodes.remove(address);
    if (node != null) {
      node.close();
    }
  }

  Future<Void> close() {
    closed = true;
    List<Node> all = new ArrayList<>(nodes.values());
    nodes.clear();
    all.forEach(Node::close);
    return Future.succeededFuture();
  }

  private Node node(RedisAddress address) {
    RedisOptions options =
        new RedisOptions()
            .setType(RedisClientType.STANDALONE)
            .setConnectionString(address.uri(seed))
            .setNetClientOptions(new NetClientOptions().setConnectTimeout((int) timeoutMs));
    return new Node(Redis.createClient(vertx, options));
  }

  private static final class Node {
    private final Redis client;
    private Future<RedisConnection> connection;

    Node(Redis client) {
      this.client = client;
    }

    Future<RedisConnection> connection() {
      if (connection == null) {
        Future<RedisConnection> opening = client.connect();
        connection = opening;
        opening.onSuccess(
            c -> {
              if (connection != opening) {
                // dropped or closed while connecting: that already closes it (a second close threw
                // "Attempt to recycle more than permitted" from the client's pool)
                return;
              }
              c.exceptionHandler(e -> dropIf(opening));
              c.endHandler(v -> dropIf(opening));
            });
      }
      return connection;
    }

    void dropIf(Future<RedisConnection> which) {
      if (connection == which) {
        connection = null;
        which.onSuccess(RedisConnection::close);
      }
    }

    void close() {
      Future<RedisConnection> c = connection;
      connection = null;
      Future<Void> closed =
          c == null
              ? Future.succeededFuture()
              : c.compose(RedisConnection::close, e -> Future.succeededFuture());
      // The client's own close completes on another thread: not chained, so callers stay on our
      // loop.
      closed.onComplete(ar -> client.close());
    }
  }
}
