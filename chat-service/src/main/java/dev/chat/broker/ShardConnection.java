package dev.chat.broker;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One subscriber connection to one cluster master: after one {@code ROLE} that proves the node a
 * master, it sends nothing but SSUBSCRIBE and SUNSUBSCRIBE, and reports what the server pushes. It
 * lives once: after a loss its owner opens a new one, so the owner's one refresh loop is the only
 * reconnect loop.
 *
 * <p>vertx-redis-client completes an SSUBSCRIBE future when the bytes are written, and a {@code
 * -MOVED} answer to it arrives later as an ERROR in the handler (no promise waits for a pub/sub
 * command), so both the confirmation and the redirect are read from the handler.
 */
final class ShardConnection {

  /** What the server said; all calls arrive on the owner's event loop. */
  interface Events {
    void message(ShardConnection from, String channel, byte[] payload);

    void subscribed(ShardConnection from, String channel);

    /** A {@code sunsubscribe} this side did not ask for: the slot moved or failed over. */
    void dropped(ShardConnection from, String channel);

    /** {@code -MOVED <slot> <host:port>}: an SSUBSCRIBE went to a node that no longer serves it. */
    void moved(ShardConnection from, int slot);

    /** The connection ended, failed, or got an error that leaves its state unknown. */
    void lost(ShardConnection from, String why);
  }

  final RedisAddress address;
  private final Redis client;
  private final Events events;
  // Requests made while connecting, sent in order once connected; bounded by the wanted channels.
  private final List<Request> queued = new ArrayList<>();
  // Our own SUNSUBSCRIBEs not yet confirmed, so their pushes are not taken for the server's.
  private final Map<String, Integer> unsubscribing = new HashMap<>();
  private RedisConnection connection;
  private boolean done;
  long lastPushMs = System.currentTimeMillis();
  // Probe rounds of the subscriber's loop since the last push: a loop held up past the silence
  // limit has had no turn to read, so the time alone does not make a connection lost.
  int roundsUnheard;

  private ShardConnection(RedisAddress address, Redis client, Events events) {
    this.address = address;
    this.client = client;
    this.events = events;
  }

  /** Connects to {@code address} with the scheme and credentials of {@code seed}. */
  static ShardConnection open(
      Vertx vertx, String seed, RedisAddress address, long timeoutMs, Events events) {
    RedisOptions options =
        new RedisOptions()
            .setType(RedisClientType.STANDALONE)
            .setConnectionString(address.uri(seed))
            .setNetClientOptions(new NetClientOptions().setConnectTimeout((int) timeoutMs));
    ShardConnection shard =
        new ShardConnection(address, Redis.createClient(vertx, options), events);
    shard
        .client
        .connect()
        // before any SSUBSCRIBE: a stale topology must not leave subscriptions on a replica
        .compose(MasterRole::require)
        .onSuccess(shard::connected)
        .onFailure(e -> shard.fail("cannot connect: " + e.getMessage()));
    return shard;
  }

  /** Subscribes channels of one slot (Redis refuses a cross-slot SSUBSCRIBE). */
  void subscribe(List<String> channels) {
    Request r = Request.cmd(Command.SSUBSCRIBE);
    channels.forEach(r::arg);
    send(r);
  }

  void unsubscribe(String channel) {
    unsubscribing.merge(channel, 1, Integer::sum);
    send(Request.cmd(Command.SUNSUBSCRIBE).arg(channel));
  }

  boolean done() {
    return done;
  }

  /** Closes without reporting a loss: the owner no longer wants this connection. */
  void close() {
    if (done) {
      return;
    }
    done = true;
    queued.clear();
    RedisConnection c = connection;
    connection = null;
    if (c != null) {
      c.close().onComplete(ar -> client.close());
    } else {
      client.close();
    }
  }

  private void connected(RedisConnection c) {
    if (done) {
      c.close();
      return;
    }
    connection = c;
    c.handler(this::handle);
    c.exceptionHandler(e -> fail(e.getMessage()));
    c.endHandler(v -> fail("connection closed"));
    List<Request> pending = new ArrayList<>(queued);
    queued.clear();
    pending.forEach(this::send);
  }

  private void send(Request r) {
    if (done) {
      return;
    }
    if (connection == null) {
      queued.add(r);
      return;
    }
    connection.send(r).onFailure(e -> fail("write failed: " + e.getMessage()));
  }

  private void handle(Response push) {
    lastPushMs = System.currentTimeMillis();
    roundsUnheard = 0;
    if (push.type() == ResponseType.ERROR) {
      String error = String.valueOf(push);
      if (error.startsWith("MOVED ")) {
        events.moved(this, Integer.parseInt(error.split(" ", -1)[1]));
      } else {
        fail("error on the subscriber connection: " + error);
      }
      return;
    }
    if ((push.type() != ResponseType.PUSH && push.type() != ResponseType.MULTI)
        || push.size() < 3) {
      return;
    }
    String channel = push.get(1).toString();
    switch (push.get(0).toString()) {
      case "smessage" -> events.message(this, channel, push.get(2).toBytes());
      case "ssubscribe" -> events.subscribed(this, channel);
      case "sunsubscribe" -> {
        Integer ours = unsubscribing.remove(channel);
        if (ours == null) {
          events.dropped(this, channel);
        } else if (ours > 1) {
          unsubscribing.put(channel, ours - 1);
        }
      }
      default -> {
        // nothing else is subscribed on this connection
      }
    }
  }

  private void fail(String why) {
    if (done) {
      return;
    }
    close();
    events.lost(this, why);
  }
}
