package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Message;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.CompositeFuture;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What the contract suites of a node's {@link Backend} share: a "node" is one backend on its own
 * event loop ({@link BrokerNode}); the backends of a {@link Cluster} share one store, so two of
 * them stand for two nodes of a deployment. {@link BrokerContractTest}, {@link
 * PresenceContractTest} and {@link ConnectionCounterContractTest} each check one part of it.
 *
 * <p>Some tests show that something was <em>not</em> delivered with a fence: a later event that
 * must arrive after it. Within a room the seq order is the guarantee itself; across rooms it rests
 * on each broker having one ordered inbound stream (one subscriber connection, one event loop).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(30)
abstract class BackendContract {

  /** Redis stamps ts with its own clock; it runs on this machine, so the clocks agree closely. */
  static final long CLOCK_SKEW_MS = 1_000;

  protected Vertx vertx;
  private final List<BrokerNode> nodes = new ArrayList<>();

  /** Makes backends that share one store, configured as the environment would ({@code CHAT_*}). */
  protected abstract Function<Context, Backend> backends(Map<String, String> settings);

  /** Waits until a just-started node has settled (its start-up work done); nothing by default. */
  protected void settled(BrokerNode node) {}

  @BeforeAll
  void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  void closeVertx() {
    await(vertx.close().toCompletionStage().toCompletableFuture(), "closing Vert.x");
  }

  @AfterEach
  void closeNodes() {
    List<String> offLoop = new ArrayList<>();
    for (BrokerNode node : nodes) {
      node.close();
      offLoop.addAll(node.offLoop());
    }
    nodes.clear();
    assertThat(offLoop).as("callbacks off the broker's event loop").isEmpty();
  }

  /** Backends sharing one store. */
  protected final class Cluster {
    private final Function<Context, Backend> backends;

    private Cluster(Function<Context, Backend> backends) {
      this.backends = backends;
    }

    /** A started broker on a new event loop of the test's Vert.x. */
    BrokerNode node() {
      return node(vertx);
    }

    /** A started broker on a new event loop of {@code owner}. */
    BrokerNode node(Vertx owner) {
      BrokerNode node = BrokerNode.start(owner, backends);
      nodes.add(node);
      settled(node);
      return node;
    }
  }

  protected final Cluster cluster(Map<String, String> settings) {
    return new Cluster(backends(settings));
  }

  protected final Cluster cluster() {
    return cluster(Map.of());
  }

  static String room() {
    return "r-" + UUID.randomUUID().toString().substring(0, 12);
  }

  static String user() {
    return "u-" + UUID.randomUUID().toString().substring(0, 12);
  }

  static Draft draft(String room, String user, String id) {
    return new Draft(room, user, id, "text of " + id, null);
  }

  static ReadRequest latest(int limit) {
    return new ReadRequest(null, null, limit);
  }

  /** What a stored draft must look like on the wire. */
  static byte[] frame(Draft d, Stored s) {
    return ServerFrames.message(d.room(), s.seq(), d.id(), d.from(), d.text(), d.to(), s.ts());
  }

  static List<Long> seqs(List<Message> messages) {
    return messages.stream().map(Message::seq).toList();
  }

  static List<byte[]> framesOf(List<Message> messages) {
    return messages.stream().map(Message::frame).toList();
  }

  /** Byte equality, reported as text so a failure shows where the frames differ. */
  static void assertFrames(List<byte[]> actual, List<byte[]> expected) {
    assertThat(actual.stream().map(BackendContract::text).toList())
        .containsExactlyElementsOf(expected.stream().map(BackendContract::text).toList());
    for (int i = 0; i < expected.size(); i++) {
      assertThat(actual.get(i)).isEqualTo(expected.get(i));
    }
  }

  static Future<List<Stored>> publishMany(Broker broker, String room, String user, int count) {
    List<Future<Stored>> all = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      all.add(broker.publish(draft(room, user, "m" + i)));
    }
    return Future.all(all).map(CompositeFuture::<Stored>list);
  }

  /** The seq of a stored message frame. */
  static long seqOfFrame(byte[] frame) {
    return new io.vertx.core.json.JsonObject(text(frame)).getLong("seq");
  }

  static String text(byte[] frame) {
    return new String(frame, StandardCharsets.UTF_8);
  }
}
