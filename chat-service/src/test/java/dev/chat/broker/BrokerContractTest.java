package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Message;
import dev.chat.broker.BrokerNode.Presence;
import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.CompositeFuture;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link Broker} guarantees, run against every implementation. A "node" is one broker on its
 * own event loop ({@link BrokerNode}); the brokers of a {@link Cluster} share one store, so two of
 * them stand for two nodes of a deployment.
 *
 * <p>Some tests show that something was <em>not</em> delivered with a fence: a later event that
 * must arrive after it. Within a room the seq order is the guarantee itself; across rooms it rests
 * on each broker having one ordered inbound stream (one subscriber connection, one event loop).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(30)
abstract class BrokerContractTest {

  /** Redis stamps ts with its own clock; it runs on this machine, so the clocks agree closely. */
  private static final long CLOCK_SKEW_MS = 1_000;

  protected Vertx vertx;
  private final List<BrokerNode> nodes = new ArrayList<>();

  /** Makes brokers that share one store, configured as the environment would ({@code CHAT_*}). */
  protected abstract Function<Context, Broker> brokers(Map<String, String> settings);

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

  /** Brokers sharing one store. */
  protected final class Cluster {
    private final Function<Context, Broker> brokers;

    private Cluster(Function<Context, Broker> brokers) {
      this.brokers = brokers;
    }

    /** A started broker on a new event loop of the test's Vert.x. */
    BrokerNode node() {
      return node(vertx);
    }

    /** A started broker on a new event loop of {@code owner}. */
    BrokerNode node(Vertx owner) {
      BrokerNode node = BrokerNode.start(owner, brokers);
      nodes.add(node);
      settled(node);
      return node;
    }
  }

  protected final Cluster cluster(Map<String, String> settings) {
    return new Cluster(brokers(settings));
  }

  protected final Cluster cluster() {
    return cluster(Map.of());
  }

  // ---- seq and publish ----

  @Test
  @DisplayName(
      "publish numbers each room's messages 1, 2, 3… on its own, and the result carries seq and ts")
  void seqGrowsByOnePerRoom() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r1 = room();
    String r2 = room();
    String u = user();
    long before = System.currentTimeMillis();
    List<Stored> first = new ArrayList<>();
    List<Stored> second = new ArrayList<>();
    first.add(a.publish(draft(r1, u, "a1")));
    second.add(a.publish(draft(r2, u, "b1")));
    first.add(b.publish(draft(r1, u, "a2")));
    first.add(a.publish(draft(r1, u, "a3")));
    second.add(b.publish(draft(r2, u, "b2")));
    long after = System.currentTimeMillis();

    assertThat(first).extracting(Stored::seq).containsExactly(1L, 2L, 3L);
    assertThat(second).extracting(Stored::seq).containsExactly(1L, 2L);
    assertThat(first).extracting(Stored::room).containsOnly(r1);
    assertThat(second).extracting(Stored::room).containsOnly(r2);
    List<Stored> all = new ArrayList<>(first);
    all.addAll(second);
    assertThat(all)
        .allSatisfy(
            s -> {
              assertThat(s.duplicate()).isFalse();
              assertThat(s.ts()).isBetween(before - CLOCK_SKEW_MS, after + CLOCK_SKEW_MS);
            });
    assertThat(first).extracting(Stored::ts).isSorted();
    // A publish completes only once the message is in history, for every broker.
    assertThat(b.read(r1, latest(10)).seq()).isEqualTo(3);
    assertThat(a.read(r2, latest(10)).seq()).isEqualTo(2);
  }

  @Test
  @DisplayName("concurrent publishes through two brokers take every seq from 1 to N exactly once")
  void concurrentPublishesTakeEverySeqOnce() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    int each = 100;
    var fromA = a.async(broker -> publishMany(broker, r, user(), each));
    var fromB = b.async(broker -> publishMany(broker, r, user(), each));
    List<Stored> all = new ArrayList<>(await(fromA, "publishes through a"));
    all.addAll(await(fromB, "publishes through b"));

    assertThat(all)
        .extracting(Stored::seq)
        .containsExactlyInAnyOrderElementsOf(LongStream.rangeClosed(1, 2L * each).boxed().toList());
    Snapshot s = a.read(r, latest(1_000));
    assertThat(s.seq()).isEqualTo(2L * each);
    assertThat(s.messages()).hasSize(2 * each);
  }

  // ---- dedup ----

  @Test
  @DisplayName(
      "a repeated (room, user, id) returns the first result marked duplicate, through either broker, "
          + "and stores and publishes nothing; another user or room with the same id is a new message")
  void repeatedIdIsDeduplicated() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String alice = user();
    String bob = user();
    a.subscribe(r);

    Draft original = draft(r, alice, "k1");
    Stored stored = a.publish(original);
    Stored duplicate = new Stored(r, stored.seq(), stored.ts(), true);
    assertThat(stored.duplicate()).isFalse();
    assertThat(a.publish(original)).isEqualTo(duplicate);
    assertThat(b.publish(original)).as("through another broker").isEqualTo(duplicate);
    assertThat(a.publish(new Draft(r, alice, "k1", "edited text", null)))
        .as("with other text")
        .isEqualTo(duplicate);

    Draft bobs = draft(r, bob, "k1");
    Stored bobStored = b.publish(bobs);
    assertThat(bobStored.duplicate()).isFalse();
    assertThat(bobStored.seq()).isEqualTo(2);
    Stored elsewhere = a.publish(draft(room(), alice, "k1"));
    assertThat(elsewhere.duplicate()).isFalse();
    assertThat(elsewhere.seq()).isEqualTo(1);

    Draft fence = draft(r, alice, "k2");
    Stored fenceStored = b.publish(fence);
    assertThat(fenceStored.seq()).as("no seq was spent on a duplicate").isEqualTo(3);
    assertThat(seqs(a.awaitSeq(r, 3))).containsExactly(1L, 2L, 3L);
    assertFrames(
        a.read(r, latest(100)).messages(),
        List.of(frame(original, stored), frame(bobs, bobStored), frame(fence, fenceStored)));
  }

  @Test
  @DisplayName("once the dedup window has passed, a repeated id is stored again as a new message")
  void dedupWindowExpires() {
    long windowMs = 300;
    BrokerNode a = cluster(Map.of("CHAT_DEDUP_WINDOW_MS", Long.toString(windowMs))).node();
    String r = room();
    Draft d = draft(r, user(), "k1");
    long start = System.nanoTime();
    Stored first = a.publish(d);
    assertThat(a.publish(d)).isEqualTo(new Stored(r, first.seq(), first.ts(), true));

    Stored again =
        BrokerNode.waitFor(
            "the id to be forgotten",
            Duration.ofSeconds(5),
            () -> a.publish(d),
            s -> {
              if (s.duplicate()) {
                // until the window ends, every repeat is answered with the first result
                assertThat(s).isEqualTo(new Stored(r, first.seq(), first.ts(), true));
              }
              return !s.duplicate();
            });
    long elapsedMs = Duration.ofNanos(System.nanoTime() - start).toMillis();

    assertThat(again.seq()).isEqualTo(2);
    assertThat(elapsedMs)
        .as("not forgotten before the window ends")
        .isGreaterThanOrEqualTo(windowMs - 10);
    assertThat(a.read(r, latest(10)).messages()).hasSize(2);
    assertThat(a.publish(d))
        .as("the new message is deduplicated in turn")
        .isEqualTo(new Stored(r, again.seq(), again.ts(), true));
  }

  // ---- history and recovery ----

  /** A room of a cluster keeping 5 messages, after 8 were published: history holds seqs 4 to 8. */
  private final class FullRoom {
    static final int KEPT = 5;
    static final int PUBLISHED = 8;
    final BrokerNode node;
    final String room = room();
    final List<byte[]> frames = new ArrayList<>();
    final String epoch;

    FullRoom() {
      node =
          cluster(Map.of("CHAT_HISTORY_MAX", Integer.toString(KEPT), "CHAT_HISTORY_ON_JOIN", "0"))
              .node();
      String u = user();
      for (int i = 1; i <= PUBLISHED; i++) {
        Draft d = draft(room, u, "m" + i);
        frames.add(frame(d, node.publish(d)));
      }
      epoch = node.read(room, ReadRequest.stateOnly()).epoch();
    }

    /** The frames of seqs {@code from} to 8. */
    List<byte[]> from(long seq) {
      return frames.subList((int) seq - 1, PUBLISHED);
    }
  }

  @Test
  @DisplayName(
      "history keeps only the last CHAT_HISTORY_MAX messages, and a read without a position gets the latest limit")
  void historyIsCapped() {
    FullRoom full = new FullRoom();
    Snapshot all = full.node.read(full.room, latest(100));
    assertThat(all.seq()).isEqualTo(8);
    assertThat(all.recovered()).isFalse();
    assertThat(all.epoch()).isNotBlank();
    assertFrames(all.messages(), full.from(4));
    assertThat(all.seqOf(0)).isEqualTo(4);

    assertFrames(full.node.read(full.room, latest(2)).messages(), full.from(7));
    Snapshot state = full.node.read(full.room, ReadRequest.stateOnly());
    assertThat(state.messages()).isEmpty();
    assertThat(state.seq()).isEqualTo(8);
    assertThat(state.recovered()).isFalse();
  }

  @Test
  @DisplayName(
      "history pages back below a seq, oldest first, at most limit messages, and says whether older ones are still stored")
  void historyPagesBackBelowASeq() {
    FullRoom full = new FullRoom();
    Page newest = full.node.call(b -> b.history(full.room, null, 2));
    assertThat(newest.epoch()).isEqualTo(full.epoch);
    assertFrames(newest.messages(), full.from(7));
    assertThat(newest.more()).isTrue();

    Page middle = full.node.call(b -> b.history(full.room, 7L, 2));
    assertFrames(middle.messages(), full.frames.subList(4, 6));
    assertThat(middle.more()).as("seq 4 is still stored").isTrue();

    Page oldest = full.node.call(b -> b.history(full.room, 6L, 10));
    assertFrames(oldest.messages(), full.frames.subList(3, 5));
    assertThat(oldest.more()).as("seqs 1-3 were trimmed").isFalse();

    assertThat(full.node.call(b -> b.history(full.room, 4L, 10)).messages())
        .as("everything below seq 4 is gone")
        .isEmpty();
    assertThat(full.node.call(b -> b.history(full.room, 4L, 10)).more()).isFalse();
    assertFrames(full.node.call(b -> b.history(full.room, 100L, 3)).messages(), full.from(6));
    Page none = full.node.call(b -> b.history(room(), null, 50));
    assertThat(none.messages()).isEmpty();
    assertThat(none.more()).isFalse();
    assertThat(none.epoch()).isNotBlank();
  }

  @Test
  @DisplayName(
      "a page of history holds the same frames that a join replays, and every stored message once across pages")
  void historyPagesMatchTheReplay() {
    BrokerNode a = cluster().node();
    String r = room();
    List<byte[]> published = new ArrayList<>();
    String u = user();
    for (int i = 1; i <= 7; i++) {
      Draft d = draft(r, u, "p" + i);
      published.add(frame(d, a.publish(d)));
    }
    assertFrames(a.call(b -> b.history(r, null, 3)).messages(), a.read(r, latest(3)).messages());
    List<byte[]> paged = new ArrayList<>();
    Long before = null;
    while (true) {
      Long below = before;
      Page page = a.call(b -> b.history(r, below, 3));
      paged.addAll(0, page.messages());
      if (!page.more()) {
        break;
      }
      before = seqOfFrame(page.messages().get(0));
    }
    assertFrames(paged, published);
  }

  @Test
  @DisplayName(
      "a position inside history recovers exactly the messages after it, by join and by read, whatever the limit")
  void positionInsideHistoryRecovers() {
    FullRoom full = new FullRoom();
    Snapshot joined = full.node.join(full.room, user(), new ReadRequest(full.epoch, 5L, 2));
    assertThat(joined.recovered()).isTrue();
    assertThat(joined.seq()).isEqualTo(8);
    assertFrames(joined.messages(), full.from(6));
    assertThat(joined.seqOf(0)).isEqualTo(6);

    Snapshot read = full.node.read(full.room, new ReadRequest(full.epoch, 5L, 2));
    assertThat(read.recovered()).isTrue();
    assertFrames(read.messages(), full.from(6));

    Snapshot oldestKept = full.node.read(full.room, new ReadRequest(full.epoch, 3L, 2));
    assertThat(oldestKept.recovered()).as("since 3 needs seq 4 on, all still kept").isTrue();
    assertFrames(oldestKept.messages(), full.from(4));
  }

  @Test
  @DisplayName("a position older than history does not recover and gets the latest limit")
  void positionOlderThanHistoryDoesNotRecover() {
    FullRoom full = new FullRoom();
    for (Snapshot s :
        List.of(
            full.node.join(full.room, user(), new ReadRequest(full.epoch, 2L, 2)),
            full.node.read(full.room, new ReadRequest(full.epoch, 0L, 2)))) {
      assertThat(s.recovered()).isFalse();
      assertThat(s.seq()).isEqualTo(8);
      assertFrames(s.messages(), full.from(7));
    }
  }

  @Test
  @DisplayName("a position in another epoch does not recover and gets the latest limit")
  void wrongEpochDoesNotRecover() {
    FullRoom full = new FullRoom();
    Snapshot s = full.node.join(full.room, user(), new ReadRequest(Epochs.next(), 6L, 2));
    assertThat(s.recovered()).isFalse();
    assertThat(s.epoch()).isEqualTo(full.epoch);
    assertFrames(s.messages(), full.from(7));
  }

  @Test
  @DisplayName(
      "a position at the head recovers with no messages; one past the head does not recover")
  void positionAtAndPastHead() {
    FullRoom full = new FullRoom();
    Snapshot atHead = full.node.join(full.room, user(), new ReadRequest(full.epoch, 8L, 2));
    assertThat(atHead.recovered()).isTrue();
    assertThat(atHead.messages()).isEmpty();
    assertThat(atHead.seq()).isEqualTo(8);

    Snapshot past = full.node.read(full.room, new ReadRequest(full.epoch, 9L, 2));
    assertThat(past.recovered()).isFalse();
    assertFrames(past.messages(), full.from(7));
  }

  @Test
  @DisplayName(
      "a room nobody wrote to reads as seq 0 in a stable epoch, and position 0 of that epoch recovers")
  void emptyRoom() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    Snapshot s = a.read(r, latest(10));
    assertThat(s.seq()).isZero();
    assertThat(s.messages()).isEmpty();
    assertThat(s.recovered()).isFalse();
    assertThat(s.epoch()).isNotBlank();

    Snapshot resumed = b.read(r, new ReadRequest(s.epoch(), 0L, 10));
    assertThat(resumed.epoch()).as("the same epoch through every broker").isEqualTo(s.epoch());
    assertThat(resumed.recovered()).isTrue();
    assertThat(resumed.messages()).isEmpty();
    Stored first = b.publish(draft(r, user(), "m1"));
    assertThat(first.seq()).isEqualTo(1);
    assertThat(a.read(r, ReadRequest.stateOnly()).epoch()).isEqualTo(s.epoch());
  }

  // ---- frames ----

  @Test
  @DisplayName(
      "frames in history and on the live stream are byte-identical to ServerFrames.message for the stored seq and ts")
  void framesMatchServerFrames() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String alice = user();
    String bob = user();
    String inbox = Names.inboxOf(bob);
    a.subscribe(r);
    a.subscribe(inbox);

    List<Draft> drafts =
        List.of(
            draft(r, alice, "plain"),
            new Draft(
                r,
                alice,
                "odd-\"id\\",
                "Grüße \"quoted\" \\ back\nslash\t✓ 😀 \u0001 </script>",
                null),
            new Draft(inbox, alice, "dm-1", "a direct message", bob));
    List<byte[]> expected = new ArrayList<>();
    for (Draft d : drafts) {
      expected.add(frame(d, b.publish(d)));
    }

    assertFrames(framesOf(a.awaitSeq(r, 2)), expected.subList(0, 2));
    assertFrames(framesOf(a.awaitSeq(inbox, 1)), expected.subList(2, 3));
    assertFrames(a.read(r, latest(10)).messages(), expected.subList(0, 2));
    assertFrames(b.read(inbox, latest(10)).messages(), expected.subList(2, 3));
  }

  // ---- live stream ----

  @Test
  @DisplayName(
      "every subscribed broker hears each message once, in seq order, with the room's epoch; others hear none")
  void liveStreamInSeqOrder() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    BrokerNode outsider = cluster.node();
    String r = room();
    String fence = room();
    a.subscribe(r);
    b.subscribe(r);
    outsider.subscribe(fence);

    int each = 30;
    var fromA = a.async(broker -> publishMany(broker, r, user(), each));
    var fromB = b.async(broker -> publishMany(broker, r, user(), each));
    await(fromA, "publishes through a");
    await(fromB, "publishes through b");
    long last = a.publish(draft(r, user(), "last")).seq();
    String epoch = a.read(r, ReadRequest.stateOnly()).epoch();

    for (BrokerNode node : List.of(a, b)) {
      List<Message> heard = node.awaitSeq(r, last);
      assertThat(seqs(heard))
          .containsExactlyElementsOf(LongStream.rangeClosed(1, last).boxed().toList());
      assertThat(heard).extracting(Message::epoch).containsOnly(epoch);
    }
    a.publish(draft(fence, user(), "fence"));
    outsider.awaitSeq(fence, 1);
    assertThat(outsider.messages(r)).isEmpty();
  }

  @Test
  @DisplayName("after unsubscribe completes, a broker hears no more of the room")
  void unsubscribeStopsTheStream() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String fence = room();
    a.subscribe(r);
    a.subscribe(fence);
    b.publish(draft(r, user(), "heard"));
    a.awaitSeq(r, 1);

    a.call(broker -> broker.unsubscribe(r));
    b.publish(draft(r, user(), "unheard"));
    b.publish(draft(fence, user(), "fence"));
    a.awaitSeq(fence, 1);
    assertThat(seqs(a.messages(r))).containsExactly(1L);
  }

  @Test
  @DisplayName("a message published right after subscribe completes is always heard")
  void subscribeCompletesOnlyWhenLive() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    String u = user();
    // One at a time, then many at once: each publish leaves right behind its subscribe.
    List<String> oneByOne = IntStream.range(0, 20).mapToObj(i -> room()).toList();
    for (String r : oneByOne) {
      a.call(broker -> subscribeThenPublish(broker, r, u));
    }
    List<String> together = IntStream.range(0, 300).mapToObj(i -> room()).toList();
    a.call(
        broker ->
            Future.all(together.stream().map(r -> subscribeThenPublish(broker, r, u)).toList()));

    for (String r : oneByOne) {
      a.awaitSeq(r, 1);
    }
    for (String r : together) {
      a.awaitSeq(r, 1);
    }
  }

  private static Future<Stored> subscribeThenPublish(Broker broker, String room, String user) {
    return broker.subscribe(room).compose(v -> broker.publish(draft(room, user, "right-after")));
  }

  // ---- presence ----

  @Test
  @DisplayName(
      "presence announces a user's first join and last leave across brokers, and online counts distinct users")
  void presenceCountsDistinctUsersAcrossBrokers() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String u1 = user();
    String u2 = user();
    String fence = user();
    a.subscribe(r);
    b.subscribe(r);

    Snapshot s1 = a.join(r, u1, latest(0));
    assertThat(s1.online()).isEqualTo(1);
    assertThat(s1.users()).containsExactly(u1);
    Snapshot s2 = b.join(r, u2, latest(0));
    assertThat(s2.online()).isEqualTo(2);
    assertThat(s2.users()).containsExactlyInAnyOrder(u1, u2);
    assertThat(s2.usersTruncated()).isFalse();

    Snapshot again = b.join(r, u1, latest(0));
    assertThat(again.online()).as("u1 twice is still one user").isEqualTo(2);
    assertThat(again.users()).containsExactlyInAnyOrder(u1, u2);
    a.call(broker -> broker.leave(r, u1));
    b.call(broker -> broker.leave(r, user()));
    a.join(r, fence, latest(0));

    List<Presence> expected =
        List.of(
            new Presence(r, "join", u1, 1),
            new Presence(r, "join", u2, 2),
            new Presence(r, "join", fence, 3));
    assertThat(a.awaitPresence(r, "join", fence)).containsExactlyElementsOf(expected);
    assertThat(b.awaitPresence(r, "join", fence)).containsExactlyElementsOf(expected);
    assertThat(a.read(r, ReadRequest.stateOnly()).users())
        .as("u1 is still here through b")
        .containsExactlyInAnyOrder(u1, u2, fence);

    b.call(broker -> broker.leave(r, u1));
    assertThat(a.awaitPresence(r, "leave", u1)).last().isEqualTo(new Presence(r, "leave", u1, 2));
    Snapshot after = b.read(r, ReadRequest.stateOnly());
    assertThat(after.online()).isEqualTo(2);
    assertThat(after.users()).containsExactlyInAnyOrder(u2, fence);
  }

  @Test
  @DisplayName(
      "a silent join announces nothing but counts in online and users; a read touches no presence")
  void silentJoinAnnouncesNothing() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String quiet = user();
    String loud = user();
    a.subscribe(r);

    Snapshot s = b.call(broker -> broker.join(r, quiet, latest(0), true));
    assertThat(s.online()).isEqualTo(1);
    assertThat(s.users()).containsExactly(quiet);
    assertThat(b.read(r, ReadRequest.stateOnly()).online()).isEqualTo(1);
    b.join(r, loud, latest(0));

    assertThat(a.awaitPresence(r, "join", loud)).containsExactly(new Presence(r, "join", loud, 2));
    b.call(broker -> broker.leave(r, quiet));
    assertThat(a.awaitPresence(r, "leave", quiet))
        .last()
        .isEqualTo(new Presence(r, "leave", quiet, 1));
  }

  @Test
  @DisplayName("the users list stops at CHAT_JOINED_USERS_MAX and then says it was truncated")
  void usersListIsTruncated() {
    Cluster cluster = cluster(Map.of("CHAT_JOINED_USERS_MAX", "2"));
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    List<String> users = List.of(user(), user(), user());

    a.join(r, users.get(0), latest(0));
    Snapshot two = b.join(r, users.get(1), latest(0));
    assertThat(two.users()).containsExactlyInAnyOrderElementsOf(users.subList(0, 2));
    assertThat(two.usersTruncated()).isFalse();

    for (Snapshot three :
        List.of(a.join(r, users.get(2), latest(0)), b.read(r, ReadRequest.stateOnly()))) {
      assertThat(three.online()).isEqualTo(3);
      assertThat(three.users()).hasSize(2).doesNotHaveDuplicates();
      assertThat(users).containsAll(three.users());
      assertThat(three.usersTruncated()).isTrue();
    }
  }

  @Test
  @DisplayName(
      "close removes the broker's remaining presences and announces the leaves of users it was the last for")
  void closeAnnouncesLeaves() {
    Cluster cluster = cluster();
    BrokerNode closing = cluster.node();
    BrokerNode staying = cluster.node();
    String r1 = room();
    String r2 = room();
    String only = user();
    String both = user();
    String other = user();
    staying.subscribe(r1);
    staying.subscribe(r2);
    closing.join(r1, only, latest(0));
    closing.join(r1, both, latest(0));
    // presence does not depend on the live stream: a room the broker stopped listening to still
    // counts
    closing.subscribe(r2);
    closing.join(r2, other, latest(0));
    closing.call(broker -> broker.unsubscribe(r2));
    staying.join(r1, both, latest(0));
    staying.awaitPresence(r2, "join", other);

    closing.close();
    staying.awaitPresence(r2, "leave", other);
    staying.call(broker -> broker.leave(r1, both));
    assertThat(staying.awaitPresence(r1, "leave", both))
        .containsExactly(
            new Presence(r1, "join", only, 1), new Presence(r1, "join", both, 2),
            new Presence(r1, "leave", only, 1), new Presence(r1, "leave", both, 0));
    assertThat(staying.presences(r2))
        .containsExactly(new Presence(r2, "join", other, 1), new Presence(r2, "leave", other, 0));
    assertThat(staying.read(r1, ReadRequest.stateOnly()).online()).isZero();
  }

  // ---- slots ----

  @Test
  @DisplayName(
      "slots of a key are counted across brokers: the one over max is refused, a release frees one")
  void slotsAreCountedAcrossBrokers() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String key = "user:" + user();
    assertThat(a.acquire(key, 3)).isTrue();
    assertThat(b.acquire(key, 3)).isTrue();
    assertThat(a.acquire(key, 3)).isTrue();
    assertThat(b.acquire(key, 3)).as("a fourth slot of three").isFalse();
    assertThat(a.acquire(key, 3)).as("a refusal takes nothing").isFalse();

    b.call(broker -> broker.release(key));
    assertThat(a.acquire(key, 3)).as("after one was given back").isTrue();
    assertThat(b.acquire(key, 3)).isFalse();
    // a larger max for the same key counts the same slots
    assertThat(b.acquire(key, 4)).isTrue();
    assertThat(b.acquire(key, 4)).isFalse();
  }

  @Test
  @DisplayName("concurrent acquires through two brokers take exactly max slots")
  void concurrentAcquiresTakeExactlyMax() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String key = "ip:" + user();
    List<java.util.concurrent.CompletableFuture<Boolean>> tries = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      tries.add((i % 2 == 0 ? a : b).async(broker -> broker.acquire(key, 7)));
    }
    long taken = tries.stream().filter(f -> await(f, "an acquire")).count();
    assertThat(taken).isEqualTo(7);
  }

  @Test
  @DisplayName("keys are counted apart, and releasing a slot a broker does not hold frees nothing")
  void keysAreCountedApart() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String k1 = "user:" + user();
    String k2 = "user:" + user();
    assertThat(a.acquire(k1, 1)).isTrue();
    assertThat(a.acquire(k2, 1)).isTrue();
    assertThat(b.acquire(k1, 1)).isFalse();
    b.call(broker -> broker.release(k1));
    assertThat(b.acquire(k1, 1)).as("b's release of a slot held by a").isFalse();
    a.call(broker -> broker.release(k1));
    assertThat(b.acquire(k1, 1)).isTrue();
    assertThat(b.acquire(k2, 1)).isFalse();
  }

  @Test
  @DisplayName("close gives back every slot the broker held, and only those")
  void closeGivesBackSlots() {
    Cluster cluster = cluster();
    BrokerNode closing = cluster.node();
    BrokerNode staying = cluster.node();
    String key = "user:" + user();
    assertThat(closing.acquire(key, 3)).isTrue();
    assertThat(closing.acquire(key, 3)).isTrue();
    assertThat(staying.acquire(key, 3)).isTrue();
    assertThat(staying.acquire(key, 3)).isFalse();

    closing.close();
    assertThat(staying.acquire(key, 3)).isTrue();
    assertThat(staying.acquire(key, 3)).isTrue();
    assertThat(staying.acquire(key, 3)).as("the staying broker's own slots still count").isFalse();
  }

  // ---- disconnect ----

  @Test
  @DisplayName(
      "a disconnect through one broker reaches every broker, each closing on its own loop, and sums what they closed")
  void disconnectReachesEveryBroker() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String alice = user();
    List<String> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
    closes(a, "a", alice, 2, asked);
    closes(b, "b", alice, 1, asked);

    Disconnected d = a.call(broker -> broker.disconnect(alice));

    assertThat(d).isEqualTo(new Disconnected(3, true));
    assertThat(asked).containsExactlyInAnyOrder("a:" + alice, "b:" + alice);
    Disconnected nobody = b.call(broker -> broker.disconnect(user()));
    assertThat(nobody).as("a user with no connections").isEqualTo(new Disconnected(0, true));
  }

  /** Makes {@code node}'s broker report {@code count} connections of {@code user} closed. */
  private static void closes(
      BrokerNode node, String name, String user, int count, List<String> asked) {
    Thread loop = await(node.async(b -> Future.succeededFuture(Thread.currentThread())), "loop");
    node.call(
        broker -> {
          broker.disconnects(
              u -> {
                if (Thread.currentThread() != loop) {
                  asked.add("off loop: " + Thread.currentThread().getName());
                }
                asked.add(name + ":" + u);
                return u.equals(user) ? count : 0;
              });
          return Future.succeededFuture();
        });
  }

  // ---- helpers ----

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
    assertThat(actual.stream().map(BrokerContractTest::text).toList())
        .containsExactlyElementsOf(expected.stream().map(BrokerContractTest::text).toList());
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

  private static String text(byte[] frame) {
    return new String(frame, StandardCharsets.UTF_8);
  }
}
