package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Message;
import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The {@link Broker} guarantees (seq, dedup, history, the live stream, and v1.1's edits and
 * deletes, signals and read positions), run against every implementation.
 */
abstract class BrokerContractTest extends BackendContract {

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
    var fromA = a.async(backend -> publishMany(backend.broker(), r, user(), each));
    var fromB = b.async(backend -> publishMany(backend.broker(), r, user(), each));
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
    Page newest = full.node.call(backend -> backend.broker().history(full.room, null, 2));
    assertThat(newest.epoch()).isEqualTo(full.epoch);
    assertFrames(newest.messages(), full.from(7));
    assertThat(newest.more()).isTrue();

    Page middle = full.node.call(backend -> backend.broker().history(full.room, 7L, 2));
    assertFrames(middle.messages(), full.frames.subList(4, 6));
    assertThat(middle.more()).as("seq 4 is still stored").isTrue();

    Page oldest = full.node.call(backend -> backend.broker().history(full.room, 6L, 10));
    assertFrames(oldest.messages(), full.frames.subList(3, 5));
    assertThat(oldest.more()).as("seqs 1-3 were trimmed").isFalse();

    assertThat(full.node.call(backend -> backend.broker().history(full.room, 4L, 10)).messages())
        .as("everything below seq 4 is gone")
        .isEmpty();
    assertThat(full.node.call(backend -> backend.broker().history(full.room, 4L, 10)).more())
        .isFalse();
    assertFrames(
        full.node.call(backend -> backend.broker().history(full.room, 100L, 3)).messages(),
        full.from(6));
    Page none = full.node.call(backend -> backend.broker().history(room(), null, 50));
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
    assertFrames(
        a.call(backend -> backend.broker().history(r, null, 3)).messages(),
        a.read(r, latest(3)).messages());
    List<byte[]> paged = new ArrayList<>();
    Long before = null;
    while (true) {
      Long below = before;
      Page page = a.call(backend -> backend.broker().history(r, below, 3));
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
    var fromA = a.async(backend -> publishMany(backend.broker(), r, user(), each));
    var fromB = b.async(backend -> publishMany(backend.broker(), r, user(), each));
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

    a.call(backend -> backend.broker().unsubscribe(r));
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
      a.call(backend -> subscribeThenPublish(backend.broker(), r, u));
    }
    List<String> together = IntStream.range(0, 300).mapToObj(i -> room()).toList();
    a.call(
        backend ->
            Future.all(
                together.stream().map(r -> subscribeThenPublish(backend.broker(), r, u)).toList()));

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

  // ---- edits and deletes (v1.1) ----

  private static Draft edit(String room, String user, long target, String text) {
    return new Draft(
        room, user, "e-" + UUID.randomUUID(), text, null, new Draft.Change(false, target, false));
  }

  private static Draft delete(String room, String user, long target, boolean anyAuthor) {
    return new Draft(
        room,
        user,
        "d-" + UUID.randomUUID(),
        null,
        null,
        new Draft.Change(true, target, anyAuthor));
  }

  /** What a stored change must look like on the wire. */
  private static byte[] changeFrame(Draft d, Stored s) {
    Draft.Change c = d.change();
    return ServerFrames.message(
        d.room(), s.seq(), d.id(), d.from(), c.field(), c.target(), d.text(), d.to(), s.ts());
  }

  private static ChangeRefusedException refused(BrokerNode node, Draft change) {
    Throwable t = node.failure(backend -> backend.broker().publish(change));
    assertThat(t).isInstanceOf(ChangeRefusedException.class);
    return (ChangeRefusedException) t;
  }

  @Test
  @DisplayName(
      "an edit and a delete are stored as new entries with their own seq, named after their target,"
          + " in history and on the live stream, and a repeated id gets the first result")
  void changesAreNewEntries() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String alice = user();
    b.subscribe(r);
    Draft original = draft(r, alice, "m1");
    Stored stored = a.publish(original);
    Draft edit = edit(r, alice, stored.seq(), "edited");
    Stored edited = a.publish(edit);
    Draft delete = delete(r, alice, stored.seq(), false);
    Stored deleted = b.publish(delete);

    assertThat(List.of(edited.seq(), deleted.seq())).containsExactly(2L, 3L);
    List<byte[]> expected =
        List.of(frame(original, stored), changeFrame(edit, edited), changeFrame(delete, deleted));
    assertFrames(a.read(r, latest(10)).messages(), expected);
    assertFrames(framesOf(b.awaitSeq(r, 3)), expected);
    assertThat(text(changeFrame(delete, deleted))).contains("\"deletes\":1").doesNotContain("text");

    // After the dedup check: the edit's target is deleted now, yet its repeat is answered as
    // before.
    assertThat(b.publish(edit)).isEqualTo(new Stored(r, edited.seq(), edited.ts(), true));
    assertThat(a.publish(delete)).isEqualTo(new Stored(r, deleted.seq(), deleted.ts(), true));
    assertThat(a.read(r, ReadRequest.stateOnly()).seq()).as("no seq spent on repeats").isEqualTo(3);
  }

  @Test
  @DisplayName(
      "another user's message may not be edited, nor deleted unless any author may; a refusal"
          + " says forbidden and stores nothing")
  void changesCheckTheAuthor() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String alice = user();
    String bob = user();
    long target = a.publish(draft(r, alice, "mine")).seq();

    ChangeRefusedException edit = refused(b, edit(r, bob, target, "yours now"));
    assertThat(edit.forbidden()).isTrue();
    ChangeRefusedException del = refused(b, delete(r, bob, target, false));
    assertThat(del.forbidden()).isTrue();
    assertThat(a.read(r, ReadRequest.stateOnly()).seq()).as("nothing stored").isEqualTo(1);

    Draft moderated = delete(r, bob, target, true);
    Stored stored = b.publish(moderated);
    assertThat(stored.seq()).isEqualTo(2);
    assertFrames(a.read(r, latest(1)).messages(), List.of(changeFrame(moderated, stored)));
  }

  @Test
  @DisplayName(
      "a change whose target is never stored, trimmed, itself a change, or (for an edit) deleted"
          + " is refused as no such message, and stores nothing")
  void changesNeedAStoredMessage() {
    FullRoom full = new FullRoom();
    BrokerNode n = full.node;
    String author = user();
    long mine = n.publish(draft(full.room, author, "mine")).seq();
    assertThat(mine).isEqualTo(9);
    long deletion = n.publish(delete(full.room, author, mine, false)).seq();
    long head = deletion;
    String other = new io.vertx.core.json.JsonObject(text(full.frames.get(7))).getString("from");

    Map<String, Draft> attempts = new java.util.LinkedHashMap<>();
    attempts.put("seq 0", edit(full.room, author, 0, "x"));
    attempts.put("past the head", delete(full.room, author, head + 1, true));
    attempts.put("trimmed", delete(full.room, other, 3, false));
    attempts.put("a change", edit(full.room, author, deletion, "x"));
    attempts.put("a deleted message", edit(full.room, author, mine, "too late"));
    for (Map.Entry<String, Draft> attempt : attempts.entrySet()) {
      ChangeRefusedException e = refused(n, attempt.getValue());
      assertThat(e.forbidden()).as(attempt.getKey()).isFalse();
    }
    assertThat(refused(n, edit(full.room, author, mine, "too late")).getMessage())
        .contains("deleted");
    assertThat(refused(n, delete(full.room, other, 3, false)).getMessage()).contains("trimmed");
    assertThat(n.read(full.room, ReadRequest.stateOnly()).seq()).isEqualTo(head);

    // The oldest message still stored can be changed, and a message edited again.
    long oldest = 4 + (head - FullRoom.PUBLISHED);
    assertThat(oldest).isEqualTo(6);
    assertThat(n.publish(edit(full.room, other, oldest, "once")).seq()).isEqualTo(head + 1);
    assertThat(n.publish(edit(full.room, other, 8, "twice")).seq()).isEqualTo(head + 2);
    assertThat(n.publish(edit(full.room, other, 8, "thrice")).seq()).isEqualTo(head + 3);
  }

  // ---- signals and read positions (v1.1) ----

  private static List<BrokerNode.Signalled> signals(BrokerNode node, String room) {
    return node.events(BrokerNode.Signalled.class, s -> s.room().equals(room));
  }

  @Test
  @DisplayName(
      "a signal reaches every broker subscribed to the room, its sender's included, once and as"
          + " sent; other rooms hear nothing and nothing is stored")
  void signalsReachSubscribersAndAreNotStored() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    BrokerNode outsider = cluster.node();
    String r = room();
    String fence = room();
    String alice = user();
    a.subscribe(r);
    b.subscribe(r);
    outsider.subscribe(fence);

    Signal typing = new Signal(Signal.Kind.TYPING, alice, ServerFrames.typing(r, alice));
    Signal read = new Signal(Signal.Kind.READ, alice, ServerFrames.read(r, alice, 7));
    a.call(backend -> backend.broker().signal(r, typing));
    b.call(backend -> backend.broker().signal(r, read));
    for (BrokerNode node : List.of(a, b)) {
      BrokerNode.waitFor("both signals", () -> signals(node, r), l -> l.size() >= 2);
    }
    // A fence in the same room: a repeat of either signal would have come before it.
    String fencer = user();
    Signal last = new Signal(Signal.Kind.TYPING, fencer, ServerFrames.typing(r, fencer));
    a.call(backend -> backend.broker().signal(r, last));
    for (BrokerNode node : List.of(a, b)) {
      List<BrokerNode.Signalled> heard =
          BrokerNode.waitFor(
              "the fence",
              () -> signals(node, r),
              l -> l.stream().anyMatch(x -> x.user().equals(fencer)));
      List<BrokerNode.Signalled> before =
          heard.stream().filter(x -> !x.user().equals(fencer)).toList();
      assertThat(before)
          .extracting(BrokerNode.Signalled::kind)
          .containsExactlyInAnyOrder(Signal.Kind.TYPING, Signal.Kind.READ);
      assertThat(before).extracting(BrokerNode.Signalled::user).containsOnly(alice);
      for (BrokerNode.Signalled x : before) {
        assertThat(x.frame())
            .isEqualTo(x.kind() == Signal.Kind.TYPING ? typing.frame() : read.frame());
      }
    }
    outsider.call(backend -> backend.broker().signal(fence, typing));
    BrokerNode.waitFor("the outsider's fence", () -> signals(outsider, fence), l -> !l.isEmpty());
    assertThat(signals(outsider, r)).isEmpty();

    Snapshot s = a.read(r, latest(10));
    assertThat(s.seq()).isZero();
    assertThat(s.messages()).isEmpty();
    assertThat(a.messages(r)).isEmpty();
    assertThat(b.publish(draft(r, alice, "first")).seq()).isEqualTo(1);
  }

  private static long markRead(BrokerNode node, String room, String user, long seq) {
    return node.call(backend -> backend.broker().markRead(room, user, seq));
  }

  private static long markSeen(BrokerNode node, String sender, String reader, String id) {
    return node.call(backend -> backend.broker().markSeen(sender, reader, id));
  }

  @Test
  @DisplayName(
      "a read position moves only forward and never past the room's last seq, per user and room,"
          + " and a joined snapshot carries the positions of the users it lists")
  void readPositionsMoveForwardCappedAtTheHead() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String alice = user();
    String bob = user();
    String carol = user();
    assertThat(markRead(a, r, alice, 5)).as("an empty room has nothing to read").isEqualTo(-1);
    for (int i = 1; i <= 3; i++) {
      a.publish(draft(r, bob, "m" + i));
    }
    assertThat(markRead(a, r, alice, 2)).isEqualTo(2);
    assertThat(markRead(b, r, alice, 1)).as("backwards").isEqualTo(-1);
    assertThat(markRead(b, r, alice, 2)).as("not forward").isEqualTo(-1);
    assertThat(markRead(b, r, alice, 99)).as("capped at the head").isEqualTo(3);
    assertThat(markRead(a, r, alice, 99)).as("already at the head").isEqualTo(-1);
    assertThat(markRead(a, r, bob, 1)).as("another user's own position").isEqualTo(1);
    assertThat(markRead(a, room(), alice, 1)).as("another room").isEqualTo(-1);
    a.publish(draft(r, bob, "m4"));
    assertThat(markRead(b, r, alice, 99)).isEqualTo(4);

    Snapshot aliceJoins = a.join(r, alice, latest(0));
    assertThat(aliceJoins.read()).containsEntry(alice, 4L);
    Snapshot carolJoins = b.join(r, carol, latest(0));
    assertThat(carolJoins.users()).contains(alice, carol);
    assertThat(carolJoins.read())
        .as("the listed users with a position; carol has none")
        .isEqualTo(Map.of(alice, 4L));
    b.join(r, bob, latest(0));
    assertThat(a.join(r, user(), latest(0)).read()).isEqualTo(Map.of(alice, 4L, bob, 1L));
  }

  @Test
  @DisplayName(
      "a direct message's seen moves the reader's position in the sender's inbox to the sender's"
          + " own copy, forward only; another's copy or one no longer stored moves nothing")
  void seenMapsToTheSendersCopy() {
    Cluster cluster = cluster(Map.of("CHAT_HISTORY_MAX", "4", "CHAT_HISTORY_ON_JOIN", "4"));
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String alice = user();
    String bob = user();
    String aliceInbox = Names.inboxOf(alice);
    a.call(backend -> backend.broker().publishDirect(alice, alice, "note", "a note to self"));
    Stored first = a.call(backend -> backend.broker().publishDirect(alice, bob, "dm-1", "hi"));
    assertThat(first.room()).isEqualTo(aliceInbox);
    assertThat(first.seq()).as("alice's copy, after her note").isEqualTo(2);
    b.call(backend -> backend.broker().publishDirect(bob, alice, "dm-2", "hi alice"));

    assertThat(markSeen(b, alice, bob, "dm-1")).isEqualTo(2);
    assertThat(markSeen(a, alice, bob, "dm-1")).as("not forward").isEqualTo(-1);
    assertThat(markSeen(a, alice, bob, "dm-2"))
        .as("bob's own message in alice's inbox is no copy of alice's")
        .isEqualTo(-1);
    assertThat(markSeen(a, alice, bob, "never-sent")).isEqualTo(-1);

    Stored second = a.call(backend -> backend.broker().publishDirect(alice, bob, "dm-3", "again"));
    assertThat(second.seq()).isEqualTo(4);
    assertThat(markSeen(b, alice, bob, "dm-3")).isEqualTo(4);
    assertThat(markSeen(b, alice, bob, "dm-1")).as("an older copy").isEqualTo(-1);

    Snapshot joined = a.join(aliceInbox, alice, latest(0));
    assertThat(joined.read())
        .as("an inbox carries every position kept in it")
        .isEqualTo(Map.of(bob, 4L));

    // Trimmed: four newer entries push dm-4's copy out of alice's inbox.
    a.call(backend -> backend.broker().publishDirect(alice, bob, "dm-4", "soon gone"));
    for (int i = 0; i < 4; i++) {
      String id = "self-" + i;
      a.call(backend -> backend.broker().publishDirect(alice, alice, id, "filler"));
    }
    assertThat(markSeen(b, alice, bob, "dm-4")).as("no longer stored").isEqualTo(-1);
  }

  @Test
  @DisplayName(
      "an inbox's joined carries every position kept in it while there are at most"
          + " CHAT_JOINED_USERS_MAX of them, and none once there are more")
  void inboxPositionsAreBounded() {
    BrokerNode a = cluster(Map.of("CHAT_JOINED_USERS_MAX", "2")).node();
    String alice = user();
    String inbox = Names.inboxOf(alice);
    List<String> readers = List.of(user(), user(), user());
    for (String reader : readers) {
      String id = "to-" + reader;
      a.call(backend -> backend.broker().publishDirect(alice, reader, id, "hi"));
    }
    assertThat(markSeen(a, alice, readers.get(0), "to-" + readers.get(0))).isEqualTo(1);
    assertThat(markRead(a, inbox, alice, 3)).isEqualTo(3);
    assertThat(a.join(inbox, alice, latest(0)).read())
        .isEqualTo(Map.of(readers.get(0), 1L, alice, 3L));
    assertThat(markSeen(a, alice, readers.get(2), "to-" + readers.get(2))).isEqualTo(3);
    assertThat(a.join(inbox, alice, latest(0)).read()).isEmpty();
  }

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

    Disconnected d = a.call(backend -> backend.broker().disconnect(alice));

    assertThat(d).isEqualTo(new Disconnected(3, true));
    assertThat(asked).containsExactlyInAnyOrder("a:" + alice, "b:" + alice);
    Disconnected nobody = b.call(backend -> backend.broker().disconnect(user()));
    assertThat(nobody).as("a user with no connections").isEqualTo(new Disconnected(0, true));
  }

  /** Makes {@code node}'s broker report {@code count} connections of {@code user} closed. */
  private static void closes(
      BrokerNode node, String name, String user, int count, List<String> asked) {
    Thread loop =
        await(node.async(backend -> Future.succeededFuture(Thread.currentThread())), "loop");
    node.call(
        backend -> {
          backend
              .broker()
              .disconnects(
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
}
