package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One dedicated, pipelined Redis connection for commands and scripts, re-established after any
 * loss. A pooled client failed 4,976 of 5,000 concurrent PUBLISHes ("max wait queue size of 24"),
 * so every command of an event loop goes down this one connection instead.
 *
 * <p>Each connection carries the identity of the dataset it talks to ({@code run_id} and {@code
 * master_replid}, read with {@code INFO} before the connection is used). A Redis restart or a
 * failover severs the connection, so a connection's identity never goes stale; {@link #evalRoom}
 * hands a room script the identity of the very connection that runs it.
 *
 * <p>With replica acks ({@code CHAT_REDIS_REPLICAS_ACK}), {@link #evalRoomReplicated} follows the
 * script with {@code WAIT} on the same connection, pipelined and shared ({@link SharedWait}); in
 * cluster mode on the connection to the master that ran the script ({@link
 * ClusterRouter#sendReplicated}).
 */
final class RedisCommands {

  private static final Logger LOG = LoggerFactory.getLogger(RedisCommands.class);

  private final Vertx vertx;
  private final RedisReconnect reconnect;
  private final long timeoutMs;
  private final Runnable onConnected;
  private final int replicas;
  private final long replicasTimeoutMs;
  // Redis Cluster mode: requests go to their slot's master instead (null in standalone mode).
  private final ClusterRouter cluster;
  private volatile Link connection;
  // The replica-ack WAIT of the connection the last replicated script went down.
  private RedisConnection waitOn;
  private SharedWait waits;
  // The identity read by the connection being prepared, which serves once it has one.
  private String preparedDataset;

  /**
   * {@code replicas} must hold what {@link #evalRoomReplicated} writes within {@code
   * replicasTimeoutMs}; 0 waits for none.
   */
  RedisCommands(
      Vertx vertx,
      RedisOptions options,
      RedisEndpoint endpoint,
      long timeoutMs,
      int replicas,
      long replicasTimeoutMs,
      Runnable onConnected) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.onConnected = onConnected;
    this.replicas = replicas;
    this.replicasTimeoutMs = replicasTimeoutMs;
    this.reconnect =
        new RedisReconnect(vertx, options, endpoint, timeoutMs, "command", new Handler());
    this.cluster = null;
  }

  /** The sentinels confirmed another master (or none): a connection elsewhere is dropped. */
  void masterMoved(RedisAddress master) {
    reconnect.dropUnlessAt(master);
  }

  /**
   * Redis Cluster mode: each request goes to its slot's master, and the room scripts read the
   * identity of the shard master that runs them themselves (see publish.lua). The router holds the
   * replica-ack setting: its {@code WAIT} goes to whichever master took the write.
   */
  RedisCommands(
      Vertx vertx, ClusterRouter cluster, long timeoutMs, int replicas, Runnable onConnected) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.onConnected = onConnected;
    this.replicas = replicas;
    this.replicasTimeoutMs = 0;
    this.reconnect = null;
    this.cluster = cluster;
  }

  Future<Void> start() {
    if (cluster != null) {
      return cluster.start().onSuccess(v -> onConnected.run());
    }
    return reconnect.start();
  }

  boolean connected() {
    return cluster != null ? cluster.connected() : connection != null;
  }

  /**
   * PUBLISH, or SPUBLISH in cluster mode: shard channels live on their slot's master, where the
   * cluster subscriber listens, and a script may only publish into its own slot.
   */
  Command publishCommand() {
    return cluster != null ? Command.SPUBLISH : Command.PUBLISH;
  }

  /** {@link #publishCommand} as a script argument. */
  String publishArg() {
    return cluster != null ? "SPUBLISH" : "PUBLISH";
  }

  /** A live connection and the identity of the dataset behind it. */
  private record Link(RedisConnection connection, String dataset) {}

  Future<Response> send(Request request) {
    if (cluster != null) {
      return cluster.send(request).recover(e -> Future.failedFuture(unavailable(e)));
    }
    Link c = connection;
    if (c == null) {
      return notConnected();
    }
    return send(c.connection(), request);
  }

  private Future<Response> send(RedisConnection c, Request request) {
    return send(c, request, timeoutMs);
  }

  private Future<Response> send(RedisConnection c, Request request, long withinMs) {
    return Deadline.within(vertx, c.send(request), withinMs, "Redis " + request.command())
        .recover(
            e -> {
              if (e.getMessage() != null && e.getMessage().contains("READONLY")) {
                // The node was demoted under us (a failover without CLIENT KILL, or a manual
                // REPLICAOF): as good as lost; the reconnect asks for the master again.
                reconnect.drop(c, e);
                return Future.failedFuture(
                    new BrokerUnavailableException("Redis node is a replica now: " + e));
              }
              return Future.failedFuture(unavailable(e));
            });
  }

  private static Future<Response> notConnected() {
    return Future.failedFuture(new BrokerUnavailableException("Redis is not connected"));
  }

  /**
   * Runs a script by its SHA-1, sending the source once when Redis does not have it (yet, or any
   * more).
   */
  Future<Response> eval(RedisScript script, List<String> keys, List<String> args) {
    if (cluster != null) {
      return evalOnCluster(script, keys, args);
    }
    Link c = connection;
    return c == null ? notConnected() : eval(c.connection(), script, keys, args);
  }

  /**
   * Runs a script that reads or writes a room's stream, with the dataset identity of the connection
   * it runs on appended as its last ARGV: a room last touched under another identity may have been
   * rolled back, and the script starts a new epoch for it.
   */
  Future<Response> evalRoom(RedisScript script, List<String> keys, List<String> args) {
    if (cluster != null) {
      // '': the script reads the identity of the shard master it runs on.
      List<String> withDataset = new ArrayList<>(args.size() + 2);
      withDataset.addAll(args);
      withDataset.add("");
      withDataset.add(publishArg());
      return evalOnCluster(script, keys, withDataset);
    }
    Link c = connection;
    if (c == null) {
      return notConnected();
    }
    List<String> withDataset = new ArrayList<>(args.size() + 1);
    withDataset.addAll(args);
    withDataset.add(c.dataset());
    withDataset.add(publishArg());
    return eval(c.connection(), script, keys, withDataset);
  }

  /**
   * {@link #evalRoom}, then, with replica acks configured, succeeds only once that many replicas
   * hold the script's writes; fails with {@link BrokerUnavailableException} when they do not within
   * the timeout (the writes stay: a retry of the same message is a duplicate, and its own {@code
   * WAIT} covers the original).
   */
  Future<Response> evalRoomReplicated(RedisScript script, List<String> keys, List<String> args) {
    if (replicas == 0) {
      return evalRoom(script, keys, args);
    }
    if (cluster != null) {
      List<String> withDataset = new ArrayList<>(args.size() + 2);
      withDataset.addAll(args);
      withDataset.add("");
      withDataset.add(publishArg());
      return evalReplicatedOnCluster(script, keys, withDataset);
    }
    Link c = connection;
    if (c == null) {
      return notConnected();
    }
    List<String> withDataset = new ArrayList<>(args.size() + 1);
    withDataset.addAll(args);
    withDataset.add(c.dataset());
    withDataset.add(publishArg());
    RedisConnection conn = c.connection();
    Future<Response> first =
        send(conn, scriptRequest(Command.EVALSHA, script.sha1(), keys, withDataset));
    // Queued right behind the script on the same connection: no round trip of its own.
    Future<Void> firstWait = replicated(conn);
    return first.compose(
        r -> firstWait.map(r),
        e ->
            e.getMessage() != null && e.getMessage().contains("NOSCRIPT")
                ? send(conn, scriptRequest(Command.EVAL, script.source(), keys, withDataset))
                    .compose(r -> replicated(conn).map(r))
                : Future.failedFuture(e));
  }

  /** Completes once a {@code WAIT} on {@code c} confirms every write sent on it so far. */
  private Future<Void> replicated(RedisConnection c) {
    if (waitOn != c) {
      if (waits != null) {
        waits.close();
      }
      waitOn = c;
      waits =
          new SharedWait(
              replicas, replicasTimeoutMs, r -> send(c, r, timeoutMs + replicasTimeoutMs));
    }
    return waits.afterWrites();
  }

  private Future<Response> evalOnCluster(RedisScript script, List<String> keys, List<String> args) {
    return send(scriptRequest(Command.EVALSHA, script.sha1(), keys, args))
        .recover(
            e ->
                e.getMessage() != null && e.getMessage().contains("NOSCRIPT")
                    ? send(scriptRequest(Command.EVAL, script.source(), keys, args))
                    : Future.failedFuture(e));
  }

  private Future<Response> evalReplicatedOnCluster(
      RedisScript script, List<String> keys, List<String> args) {
    return cluster
        .sendReplicated(scriptRequest(Command.EVALSHA, script.sha1(), keys, args))
        .recover(
            e ->
                e.getMessage() != null && e.getMessage().contains("NOSCRIPT")
                    ? cluster.sendReplicated(
                        scriptRequest(Command.EVAL, script.source(), keys, args))
                    : Future.failedFuture(e))
        .recover(e -> Future.failedFuture(unavailable(e)));
  }

  private Future<Response> eval(
      RedisConnection c, RedisScript script, List<String> keys, List<String> args) {
    return send(c, scriptRequest(Command.EVALSHA, script.sha1(), keys, args))
        .recover(
            e ->
                e.getMessage() != null && e.getMessage().contains("NOSCRIPT")
                    ? send(c, scriptRequest(Command.EVAL, script.source(), keys, args))
                    : Future.failedFuture(e));
  }

  Future<Void> close() {
    connection = null;
    if (cluster != null) {
      return cluster.close();
    }
    return reconnect.close();
  }

  private static Request scriptRequest(
      Command cmd, String script, List<String> keys, List<String> args) {
    Request r = Request.cmd(cmd).arg(script).arg(keys.size());
    keys.forEach(r::arg);
    args.forEach(r::arg);
    return r;
  }

  private final class Handler implements RedisReconnect.Handler {

    @Override
    public Future<Void> prepare(RedisConnection c) {
      return identify(c)
          .map(
              dataset -> {
                preparedDataset = dataset;
                return null;
              });
    }

    @Override
    public void up(RedisConnection c) {
      connection = new Link(c, preparedDataset);
      LOG.info("redis command connection established, dataset {}", preparedDataset);
      onConnected.run();
    }

    @Override
    public void down(RedisConnection c, Throwable cause) {
      Link link = connection;
      if (link != null && link.connection() == c) {
        connection = null;
      }
    }
  }

  /**
   * Reads the dataset's identity before the connection serves anything. {@code run_id} changes with
   * every Redis process (a restart from RDB or AOF); {@code master_replid} with every promotion,
   * also of a process that was demoted and promoted again without restarting.
   */
  private Future<String> identify(RedisConnection c) {
    return send(c, Request.cmd(Command.INFO).arg("server").arg("replication"))
        .map(info -> dataset(info.toString()));
  }

  /** {@code <run_id>:<master_replid>} from an INFO answer. */
  static String dataset(String info) {
    String runId = infoField(info, "run_id");
    String replId = infoField(info, "master_replid");
    if (runId == null) {
      throw new IllegalStateException("INFO server has no run_id");
    }
    return replId == null ? runId : runId + ":" + replId;
  }

  private static String infoField(String info, String name) {
    for (String line : info.split("\r?\n", -1)) {
      if (line.startsWith(name + ":")) {
        return line.substring(name.length() + 1).trim();
      }
    }
    return null;
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
