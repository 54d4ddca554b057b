package dev.chat.session;

import dev.chat.auth.Identity;
import dev.chat.broker.Draft;
import dev.chat.broker.MemoryBackend;
import dev.chat.broker.MemoryBroker;
import dev.chat.broker.MemoryStore;
import dev.chat.broker.Stored;
import dev.chat.config.Config;
import dev.chat.metrics.Metrics;
import dev.chat.room.RoomHub;
import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Sessions without sockets: a real embedded broker and room hub on one event loop, and sessions on
 * that loop writing to {@link RecordingOutbound}s. The test thread drives everything through the
 * loop and never touches a session directly.
 */
final class SessionHarness implements AutoCloseable {

  final Config config;
  final TestLoop loop;
  final MemoryStore store;
  final MemoryBackend backend;
  final MemoryBroker broker;
  final RoomHub hub;
  final Metrics metrics = Metrics.create("unit-node");
  private final List<Client> clients = new ArrayList<>();

  /** {@code env} overrides the defaults, which keep every timer out of a test's way. */
  SessionHarness(Vertx vertx, Map<String, String> env) {
    Map<String, String> all =
        new HashMap<>(
            Map.of(
                "CHAT_NODE_ID", "unit-node",
                "CHAT_HEARTBEAT_INTERVAL_MS", "60000",
                "CHAT_HEARTBEAT_TIMEOUT_MS", "120000",
                "CHAT_ACK_TIMEOUT_MS", "60000"));
    all.putAll(env);
    config = Config.from(all);
    loop = TestLoop.on(vertx);
    store = new MemoryStore(config.historyMax(), config.dedupWindowMs(), System::currentTimeMillis);
    backend = new MemoryBackend(store, loop.context(), config.joinedUsersMax());
    broker = backend.broker();
    hub =
        loop.call(
            () ->
                new RoomHub(
                    loop.vertx(),
                    broker,
                    backend.presence(),
                    config.historyOnJoin(),
                    config.presenceMaxOnline(),
                    metrics));
  }

  /** Opens a session for {@code user} and waits for its welcome. */
  Client connect(String user) {
    return connect(Identity.unverified(user));
  }

  /** Opens a session for a new user named after {@code name} and joins it to {@code room}. */
  Client joined(String name, String room) {
    Client client = connect(randomUser(name));
    client.join(room);
    return client;
  }

  /**
   * Opens a session for {@code identity} (as a verified token would give) and waits for its
   * welcome.
   */
  Client connect(Identity identity) {
    String user = identity.user();
    RecordingOutbound out = new RecordingOutbound();
    String connId = "c-" + UUID.randomUUID().toString().substring(0, 8);
    Session session =
        loop.call(
            () -> {
              Session s =
                  new Session(loop.vertx(), config, hub, broker, out, identity, connId, metrics);
              s.start();
              return s;
            });
    Client client = new Client(user, session, out);
    clients.add(client);
    out.await("welcome");
    return client;
  }

  /** Stores and publishes a message as {@code from} would, without a session. */
  Stored publish(String room, String from, String text) {
    String id = "p-" + UUID.randomUUID().toString().substring(0, 8);
    return loop.await(() -> broker.publish(new Draft(room, from, id, text, null)));
  }

  /** Stores and publishes {@code count} messages from carol, each with the text "m". */
  void publishMany(String room, int count) {
    for (int i = 0; i < count; i++) {
      publish(room, "carol", "m");
    }
  }

  /** The count of the counter {@code name} with {@code tags} (key, value, ...) in the metrics. */
  double count(String name, String... tags) {
    return metrics.registry().get(name).tags(tags).counter().count();
  }

  /** How many publishes the metrics timed. */
  long publishes() {
    return metrics.registry().get("chat.broker.publish").timer().count();
  }

  /** The number of rooms the hub holds for local members. */
  int hubRooms() {
    return loop.call(hub::size);
  }

  @Override
  public void close() {
    loop.run(() -> clients.forEach(c -> c.session.onClosed()));
    loop.close();
  }

  static String randomRoom() {
    return "r-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static String randomUser(String name) {
    return name + "-" + UUID.randomUUID().toString().substring(0, 6);
  }

  /** One session and what it wrote. */
  final class Client {
    final String user;
    final Session session;
    final RecordingOutbound out;

    Client(String user, Session session, RecordingOutbound out) {
      this.user = user;
      this.session = session;
      this.out = out;
    }

    /** Hands the session one text frame on its loop. */
    void send(String text) {
      loop.run(() -> session.onText(text));
    }

    void send(JsonObject frame) {
      send(frame.encode());
    }

    /** Joins {@code room} and waits for the {@code joined} frame. */
    JsonObject join(String room) {
      int mark = out.mark();
      send(new JsonObject().put("type", "join").put("room", room));
      return out.awaitEvents(
              mark,
              e -> e.isFrame("joined") && room.equals(e.frame().getString("room")),
              1,
              "joined " + room)
          .get(0)
          .frame();
    }

    /** Sends a {@code send} frame. */
    void say(String room, String id, String text) {
      send(new JsonObject().put("type", "send").put("room", room).put("id", id).put("text", text));
    }

    void ack(String room, long seq) {
      send(new JsonObject().put("type", "ack").put("room", room).put("seq", seq));
    }

    /**
     * Sends a ping and waits for its pong: every frame the loop had queued before it was handled.
     */
    void roundTrip() {
      int pongs = out.frames("pong").size();
      send("{\"type\":\"ping\"}");
      out.awaitEvents(e -> e.isFrame("pong"), pongs + 1, "pong");
    }

    /** The seqs of the {@code message} frames of {@code room}, redelivered ones excluded. */
    List<Long> seqs(String room) {
      return out.frames("message").stream()
          .filter(f -> room.equals(f.getString("room")) && !f.getBoolean("redelivered", false))
          .map(f -> f.getLong("seq"))
          .toList();
    }
  }
}
