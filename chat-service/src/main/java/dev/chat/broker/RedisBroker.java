package dev.chat.broker;

import dev.chat.config.Config;
import dev.chat.config.RedisSettings;
import dev.chat.metrics.Metrics;
import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis broker of one event loop: scripts store messages atomically and pub/sub fans them out.
 * It also runs the room script that reads a room, and registers a presence on the way for {@link
 * RedisPresence}; what the backend's lease and reconnects mean for the live stream is decided here.
 */
final class RedisBroker implements Broker {

  private static final Logger LOG = LoggerFactory.getLogger(RedisBroker.class);
  // How often a cluster subscriber reads the topology when nothing triggered a read.
  static final long CLUSTER_REFRESH_MS = 5_000;

  private final Vertx vertx;
  private final Config config;
  private final String owner;
  private final RedisCommands commands;
  private final PubSub subscriber;
  // The standalone subscriber, which this broker probes itself; null on a Redis Cluster, where the
  // sharded subscriber probes every master itself.
  private final RedisSubscriber standalone;
  private final RedisDisconnects disconnects;
  private final long probeMs;
  private final Metrics metrics;
  private BrokerListener listener;
  private long probeTimer = -1;
  private long lastProbeSeen;
  // Probes published since the last push was seen.
  private int probesUnanswered;
  private long lastRoundMs;
  private boolean resyncPending;

  RedisBroker(
      Vertx vertx,
      Config config,
      String owner,
      RedisCommands commands,
      RedisOptions options,
      RedisEndpoint endpoint,
      long probeMs,
      Metrics metrics) {
    this.vertx = vertx;
    this.config = config;
    this.owner = owner;
    this.metrics = metrics;
    this.commands = commands;
    if (config.redis().mode() == RedisSettings.Mode.CLUSTER) {
      this.standalone = null;
      this.subscriber =
          new ShardedSubscriber(
              vertx,
              config.redis().seeds(),
              new ShardedSubscriber.Timing(
                  config.brokerTimeoutMs(), CLUSTER_REFRESH_MS, Math.max(probeMs, 500)),
              this::onPush,
              this::onSlotsRestored);
    } else {
      this.standalone =
          new RedisSubscriber(
              vertx, options, endpoint, config.brokerTimeoutMs(), this::onPush, this::onRestored);
      this.subscriber = standalone;
    }
    this.disconnects = new RedisDisconnects(vertx, commands, owner, config.brokerTimeoutMs());
    this.probeMs = probeMs;
  }

  @Override
  public void listener(BrokerListener listener) {
    this.listener = listener;
  }

  /** Starts the subscriber and its liveness probe. */
  Future<Void> start() {
    disconnects.channels().forEach(subscriber::subscribe);
    if (standalone != null) {
      subscriber.subscribe(RedisKeys.probe(owner));
      probeTimer = vertx.setPeriodic(probeMs, t -> probe());
    }
    lastProbeSeen = System.currentTimeMillis();
    return subscriber.start();
  }

  /** The sentinels confirmed another master (or none): the subscriber follows it. */
  void masterMoved(RedisAddress master) {
    if (standalone != null) {
      standalone.masterMoved(master);
    }
  }

  boolean live() {
    return commands.connected() && subscriber.live();
  }

  /** Stops the probe: a closing backend must not reset its subscriber. */
  void stopProbing() {
    vertx.cancelTimer(probeTimer);
    disconnects.close();
  }

  Future<Void> close() {
    stopProbing();
    return subscriber.close();
  }

  @Override
  public Future<Void> subscribe(String room) {
    return subscriber.subscribe(RedisKeys.channel(room));
  }

  @Override
  public Future<Void> unsubscribe(String room) {
    return subscriber.unsubscribe(RedisKeys.channel(room));
  }

  @Override
  public Future<Stored> publish(Draft d) {
    if (d.change() != null) {
      return change(d);
    }
    ServerFrames.MessageTemplate t =
        ServerFrames.messageTemplate(d.room(), d.id(), d.from(), d.text(), d.to());
    List<String> keys =
        List.of(
            RedisKeys.seq(d.room()),
            RedisKeys.history(d.room()),
            RedisKeys.epoch(d.room()),
            RedisKeys.dedup(d.room(), d.from(), d.id()),
            RedisKeys.dataset(d.room()));
    List<String> args =
        List.of(
            t.head(),
            t.mid(),
            Long.toString(config.dedupWindowMs()),
            Integer.toString(config.historyMax()),
            RedisKeys.channel(d.room()),
            Epochs.next());
    return commands
        .evalRoomReplicated(RedisScript.PUBLISH, keys, args)
        .map(
            r ->
                new Stored(
                    d.room(), r.get(1).toLong(), r.get(2).toLong(), r.get(0).toInteger() == 1));
  }

  /** An edit or delete: change.lua checks the target and stores it as publish.lua would. */
  private Future<Stored> change(Draft d) {
    Draft.Change c = d.change();
    ServerFrames.MessageTemplate t =
        ServerFrames.messageTemplate(
            d.room(), d.id(), d.from(), c.field(), c.target(), d.text(), d.to());
    List<String> keys =
        List.of(
            RedisKeys.seq(d.room()),
            RedisKeys.history(d.room()),
            RedisKeys.epoch(d.room()),
            RedisKeys.dedup(d.room(), d.from(), d.id()),
            RedisKeys.dataset(d.room()));
    List<String> args =
        List.of(
            t.head(),
            t.mid(),
            Long.toString(config.dedupWindowMs()),
            Integer.toString(config.historyMax()),
            RedisKeys.channel(d.room()),
            Epochs.next(),
            Long.toString(c.target()),
            d.from(),
            c.anyAuthor() ? "1" : "0",
            c.delete() ? "0" : "1");
    return commands
        .evalRoomReplicated(RedisScript.CHANGE, keys, args)
        .compose(
            r ->
                switch (r.get(0).toInteger()) {
                  case 0, 1 ->
                      Future.succeededFuture(
                          new Stored(
                              d.room(),
                              r.get(1).toLong(),
                              r.get(2).toLong(),
                              r.get(0).toInteger() == 1));
                  case 3 ->
                      Future.failedFuture(ChangeRefusedException.notYours(c.target(), c.delete()));
                  case 4 -> Future.failedFuture(ChangeRefusedException.notAMessage(c.target()));
                  case 5 -> Future.failedFuture(ChangeRefusedException.deleted(c.target()));
                  default -> Future.failedFuture(ChangeRefusedException.noSuchMessage(c.target()));
                });
  }

  @Override
  public Future<Void> signal(String room, Signal signal) {
    byte[] user = signal.user().getBytes(StandardCharsets.UTF_8);
    byte[] frame = signal.frame();
    // Payload: "<T|R>|<user>|<frame>" (user ids have no '|').
    byte[] payload = new byte[3 + user.length + frame.length];
    payload[0] = (byte) signal.kind().tag();
    payload[1] = '|';
    System.arraycopy(user, 0, payload, 2, user.length);
    payload[2 + user.length] = '|';
    System.arraycopy(frame, 0, payload, 3 + user.length, frame.length);
    return publishLive(RedisKeys.channel(room), payload);
  }

  /**
   * The one place this broker publishes from Java (the scripts publish the stream itself): typing
   * and read receipts, on the room's channel, so Redis Cluster can switch it to SPUBLISH here.
   */
  private Future<Void> publishLive(String channel, byte[] payload) {
    return commands
        .send(Request.cmd(commands.publishCommand()).arg(channel).arg(payload))
        .mapEmpty();
  }

  @Override
  public Future<Long> markRead(String room, String user, long seq) {
    return commands
        .eval(
            RedisScript.READ,
            List.of(RedisKeys.seq(room), RedisKeys.reads(room)),
            List.of(user, Long.toString(seq)))
        .map(Response::toLong);
  }

  @Override
  public Future<Long> markSeen(String sender, String reader, String id) {
    String inbox = Names.inboxOf(sender);
    String marker = ServerFrames.messageTemplate(inbox, id, sender, "", null).mid();
    // mid is ',"id":<id>,"from":<sender>,"text":"","ts":'; the script looks for its start.
    marker = marker.substring(0, marker.indexOf(",\"text\":") + 8);
    return commands
        .eval(
            RedisScript.SEEN,
            List.of(RedisKeys.seq(inbox), RedisKeys.history(inbox), RedisKeys.reads(inbox)),
            List.of(marker, reader))
        .map(Response::toLong);
  }

  @Override
  public Future<Page> history(String room, Long before, int limit) {
    return commands
        .eval(
            RedisScript.HISTORY,
            List.of(RedisKeys.seq(room), RedisKeys.history(room), RedisKeys.epoch(room)),
            List.of(
                Epochs.next(),
                Long.toString(before == null ? -1 : before),
                Integer.toString(limit)))
        .map(
            r -> {
              List<byte[]> messages = new ArrayList<>(r.get(2).size());
              r.get(2).forEach(m -> messages.add(m.toBytes()));
              return new Page(r.get(0).toString(), messages, r.get(1).toInteger() == 1);
            });
  }

  @Override
  public void disconnects(ToIntFunction<String> closer) {
    disconnects.closer(closer);
  }

  @Override
  public Future<Disconnected> disconnect(String user) {
    if (!live()) {
      // Without a live subscriber this broker would hear neither its own request nor the answers.
      return Future.failedFuture(new BrokerUnavailableException("Redis is not connected"));
    }
    return disconnects.request(user);
  }

  @Override
  public Future<Snapshot> read(String room, ReadRequest read) {
    return join(room, null, read, true);
  }

  /**
   * Runs the join script: registers {@code user} (unless null) and reads the room in one step. The
   * caller records the presence for the reaper first ({@link RedisPresence#join}).
   */
  Future<Snapshot> join(String room, String user, ReadRequest read, boolean silent) {
    List<String> keys =
        List.of(
            RedisKeys.seq(room),
            RedisKeys.history(room),
            RedisKeys.epoch(room),
            RedisKeys.users(room),
            RedisKeys.presence(room, owner),
            RedisKeys.dataset(room));
    List<String> args =
        List.of(
            Epochs.next(),
            read.epoch() == null ? "" : read.epoch(),
            Long.toString(read.since() == null ? -1 : read.since()),
            Integer.toString(read.limit()),
            user == null ? "" : user,
            RedisKeys.channel(room),
            Integer.toString(config.joinedUsersMax()),
            silent ? "1" : "0");
    return commands
        .evalRoom(RedisScript.JOIN, keys, args)
        .map(RedisBroker::snapshot)
        .compose(s -> withReads(room, user, s));
  }

  /**
   * Adds the read positions {@code joined} carries (reads.lua): of the listed users and the joiner,
   * or of an inbox every position kept in it (its owner's and its peers' "seen"). A second script
   * after join.lua, pipelined on the same connection, so join.lua stays as it is; positions only
   * move forward, so one a little newer than the snapshot tells the client nothing false.
   */
  private Future<Snapshot> withReads(String room, String user, Snapshot s) {
    List<String> args = new ArrayList<>(s.users().size() + 2);
    args.add(Integer.toString(config.joinedUsersMax()));
    if (!Names.isInbox(room)) {
      args.addAll(s.users());
      if (user != null && !s.users().contains(user)) {
        args.add(user);
      }
      if (args.size() == 1) {
        return Future.succeededFuture(s);
      }
    }
    return commands
        .eval(RedisScript.READS, List.of(RedisKeys.reads(room)), args)
        .map(
            r -> {
              Map<String, Long> read = new LinkedHashMap<>();
              for (int i = 0; i + 1 < r.size(); i += 2) {
                read.put(r.get(i).toString(), r.get(i + 1).toLong());
              }
              return s.withRead(read);
            });
  }

  private static Snapshot snapshot(Response r) {
    List<String> users = new ArrayList<>(r.get(5).size());
    r.get(5).forEach(u -> users.add(u.toString()));
    List<byte[]> messages = new ArrayList<>(r.get(6).size());
    r.get(6).forEach(m -> messages.add(m.toBytes()));
    return new Snapshot(
        r.get(0).toString(),
        r.get(1).toLong(),
        messages,
        r.get(2).toInteger() == 1,
        r.get(3).toInteger(),
        users,
        r.get(4).toInteger() == 1);
  }

  private void onPush(String channel, byte[] payload) {
    // Any push proves the subscriber alive, not only our probe: in a burst the probe waits behind
    // the traffic, and resetting the subscriber then would drop live messages for nothing.
    lastProbeSeen = System.currentTimeMillis();
    probesUnanswered = 0;
    if (disconnects.onPush(channel, payload)) {
      return;
    }
    String room = RedisKeys.roomOfChannel(channel);
    if (room == null) {
      return;
    }
    if (listener == null || payload.length < 2) {
      return;
    }
    Signal.Kind kind = Signal.Kind.of(payload[0]);
    if (kind != null) {
      int end = indexOf(payload, 2);
      if (end < 0) {
        LOG.warn("malformed payload on {}", channel);
        return;
      }
      String user = new String(payload, 2, end - 2, StandardCharsets.UTF_8);
      byte[] frame = java.util.Arrays.copyOfRange(payload, end + 1, payload.length);
      listener.onSignal(room, new Signal(kind, user, frame));
      return;
    }
    // Payloads: "M|<epoch>|<seq>|<frame>" or "P|<event>|<online>|<user>" (see the scripts).
    int a = indexOf(payload, 2);
    int b = indexOf(payload, a + 1);
    if (a < 0 || b < 0) {
      LOG.warn("malformed payload on {}", channel);
      return;
    }
    String first = new String(payload, 2, a - 2, StandardCharsets.UTF_8);
    long number = parseLong(payload, a + 1, b);
    if (payload[0] == 'M') {
      byte[] frame = java.util.Arrays.copyOfRange(payload, b + 1, payload.length);
      listener.onMessage(room, first, number, frame);
    } else if (payload[0] == 'P') {
      String user = new String(payload, b + 1, payload.length - b - 1, StandardCharsets.UTF_8);
      listener.onPresence(room, first, user, (int) number);
    }
  }

  /**
   * Cluster mode: the subscriptions of these slots were interrupted and are back; only their rooms
   * are re-read, and the gap repair from history brings what they missed.
   */
  private void onSlotsRestored(Set<Integer> slots) {
    metrics.subscriberReconnected();
    if (listener != null) {
      listener.onResync(room -> slots.contains(Slots.slot(RedisKeys.channel(room))));
    }
  }

  private void onRestored() {
    metrics.subscriberReconnected();
    // A resync re-registers presence and re-reads rooms over the command connection. After a
    // Redis restart that connection may come back after the subscriber; a resync run before it
    // failed its presence re-registration, which nothing retried, so users stayed missing from
    // the new Redis. It waits for the command connection instead.
    if (commands.connected()) {
      resync();
    } else {
      resyncPending = true;
    }
  }

  /** The command connection is back: a resync that waited for it runs now. */
  void commandsConnected() {
    if (resyncPending && subscriber.live()) {
      resync();
    }
  }

  /**
   * The store lost what this owner had registered (its lease went missing): every room must be
   * re-read, and the hub's resync registers the presences again.
   */
  void storeLost() {
    if (listener != null && subscriber.live()) {
      listener.onResync();
    }
  }

  private void resync() {
    resyncPending = false;
    if (listener != null) {
      listener.onResync();
    }
  }

  private void probe() {
    long now = System.currentTimeMillis();
    // A loop that was held up runs the ticks it missed back to back, with no read between them:
    // those are one round.
    if (now - lastRoundMs < probeMs / 2) {
      return;
    }
    lastRoundMs = now;
    if (!subscriber.live() || !commands.connected()) {
      lastProbeSeen = now;
      probesUnanswered = 0;
      return;
    }
    // Both: the time alone would take a loop that was itself held up (a long pause, a burst of
    // handshakes at start) for a deaf subscriber, with the probe's echo still unread in the socket.
    // Rounds at least half a period apart have reads between them.
    if (probesUnanswered >= 3 && now - lastProbeSeen > 3 * probeMs) {
      standalone.reset(
          "no probe came back for "
              + (now - lastProbeSeen)
              + " ms ("
              + probesUnanswered
              + " sent)");
      return;
    }
    commands.send(Request.cmd(Command.PUBLISH).arg(RedisKeys.probe(owner)).arg("p"));
    probesUnanswered++;
  }

  private static int indexOf(byte[] payload, int from) {
    for (int i = from; i < payload.length; i++) {
      if (payload[i] == '|') {
        return i;
      }
    }
    return -1;
  }

  private static long parseLong(byte[] payload, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (payload[i] - '0');
    }
    return n;
  }
}
