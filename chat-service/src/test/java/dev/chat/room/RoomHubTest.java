package dev.chat.room;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.Draft;
import dev.chat.broker.MemoryBroker;
import dev.chat.broker.MemoryStore;
import dev.chat.broker.ReadRequest;
import dev.chat.broker.Snapshot;
import dev.chat.broker.Stored;
import dev.chat.metrics.Metrics;
import dev.chat.protocol.ServerFrames;
import dev.chat.room.RecordingMember.Delivered;
import dev.chat.room.RecordingMember.Event;
import dev.chat.room.RecordingMember.Joined;
import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The room hub on one event loop over the real embedded store, with its broker's reads slowed, its
 * live stream made lossy and its store made to lose data where a test needs it.
 */
@DisplayName("The room hub")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RoomHubTest {

  private static final int HISTORY_ON_JOIN = 50;
  private static final int PRESENCE_MAX_ONLINE = 3;
  private static final int RESUMING = 5;
  // More than any test publishes, so a resume is always recoverable however late the loop runs it.
  private static final int HISTORY_MAX = 10_000;

  private Vertx vertx;
  private TestLoop loop;
  private MemoryStore store;
  private ShakyBroker broker;
  private RoomHub hub;
  private Metrics metrics;
  private String room;

  @BeforeAll
  void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  void stopVertx() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  @BeforeEach
  void startHub() {
    loop = TestLoop.on(vertx);
    store = new MemoryStore(HISTORY_MAX, 3_600_000, System::currentTimeMillis);
    metrics = Metrics.create("unit-node");
    broker = loop.call(() -> new ShakyBroker(vertx, loop.context(), store, HISTORY_MAX));
    hub =
        loop.call(
            () ->
                new RoomHub(vertx, broker, broker, HISTORY_ON_JOIN, PRESENCE_MAX_ONLINE, metrics));
    room = "r-" + UUID.randomUUID().toString().substring(0, 8);
  }

  @AfterEach
  void stopHub() {
    loop.close();
  }

  private void join(Member m) {
    loop.await(() -> hub.join(m, room, null, null));
  }

  private void leave(Member m) {
    loop.run(() -> hub.leave(m, room));
  }

  private Stored publish(String text) {
    return loop.await(
        () -> broker.publish(new Draft(room, "carol", UUID.randomUUID().toString(), text, null)));
  }

  private static RecordingMember member(String user) {
    return new RecordingMember(user);
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  @Test
  @DisplayName("gives each member its snapshot, then the live messages in order")
  void deliversInOrder() {
    RecordingMember ann = member("ann");
    RecordingMember ben = member("ben");
    publish("before");
    join(ann);
    join(ben);

    publish("one");
    publish("two");
    ann.awaitSeq(3);
    ben.awaitSeq(3);

    for (RecordingMember m : List.of(ann, ben)) {
      Snapshot s = m.joins().get(0).snapshot();
      assertThat(s.seq()).isEqualTo(1);
      assertThat(s.messages()).hasSize(1);
      assertThat(m.delivered()).containsExactly(2L, 3L);
      assertThat(m.stream()).containsExactly(1L, 2L, 3L);
    }
    assertThat(loop.call(hub::size)).isEqualTo(1);
    assertThat(loop.call(broker::reads)).as("one read per join, no repair").isEqualTo(2);
  }

  @Test
  @DisplayName("announces a user's first join and last leave only, and only to other users")
  void presence() {
    RecordingMember bob = member("bob");
    RecordingMember alice1 = member("alice");
    RecordingMember alice2 = member("alice");
    join(bob);
    barrier(1, bob);
    assertThat(bob.presences()).isEmpty();

    join(alice1);
    barrier(2, bob, alice1);
    assertThat(bob.presences()).containsExactly(presence("join", "alice", 2));
    assertThat(alice1.presences()).isEmpty();

    join(alice2);
    barrier(3, bob, alice1, alice2);
    leave(alice1);
    barrier(4, bob, alice2);
    assertThat(bob.presences()).as("alice still has a connection in the room").hasSize(1);
    assertThat(alice1.presences()).isEmpty();
    assertThat(alice2.presences()).isEmpty();

    leave(alice2);
    bob.awaitEvents(e -> e instanceof RecordingMember.Presence, 2, "a second presence");
    assertThat(bob.presences())
        .containsExactly(presence("join", "alice", 2), presence("leave", "alice", 1));
    leave(bob);
    assertThat(loop.call(hub::size)).isZero();
  }

  @Test
  @DisplayName("announces no joins and leaves while more users are online than the presence limit")
  void presenceLimit() {
    RecordingMember ann = member("ann");
    List<RecordingMember> others =
        List.of(member("ben"), member("cat"), member("dan"), member("eve"));
    join(ann);
    long seq = 0;
    for (RecordingMember m : others) {
      join(m);
      barrier(++seq, ann);
    }
    assertThat(ann.presences())
        .as("ben and cat made 2 and 3 online; dan and eve made 4 and 5")
        .containsExactly(presence("join", "ben", 2), presence("join", "cat", 3));

    leave(others.get(3));
    barrier(++seq, ann);
    leave(others.get(2));
    ann.awaitEvents(
        e -> e instanceof RecordingMember.Presence, 3, "dan's leave, back at the limit");
    assertThat(ann.presences())
        .as("eve left with 4 online, dan with 3")
        .containsExactly(
            presence("join", "ben", 2), presence("join", "cat", 3), presence("leave", "dan", 3));
  }

  /**
   * Publishes message {@code seq} and waits until every member has it: whatever was queued before
   * it has arrived.
   */
  private void barrier(long seq, RecordingMember... members) {
    assertThat(publish("barrier").seq()).isEqualTo(seq);
    for (RecordingMember m : members) {
      m.awaitSeq(seq);
    }
  }

  private JsonObject presence(String event, String user, int online) {
    return new JsonObject()
        .put("type", "presence")
        .put("room", room)
        .put("event", event)
        .put("user", user)
        .put("online", online);
  }

  @Test
  @DisplayName(
      "joins replay and meet the live stream with no gap and no duplicate while others publish")
  void replayMeetsLiveStream() throws Exception {
    int total = 3000;
    int count = 20;
    broker.readDelay(2);
    List<RecordingMember> members = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      members.add(member("u" + i));
    }
    Map<RecordingMember, Long> resumeFrom = new HashMap<>();
    CompletableFuture<Void> published = new CompletableFuture<>();
    CompletableFuture<Void> scheduled = new CompletableFuture<>();
    List<Throwable> failures = new ArrayList<>();

    try (TestLoop other = TestLoop.on(vertx)) {
      MemoryBroker publisher = new MemoryBroker(store, other.context(), 10);
      other.run(
          () -> {
            int[] sent = {0};
            vertx.setPeriodic(
                1,
                id -> {
                  for (int i = 0; i < 5 && sent[0] < total; i++, sent[0]++) {
                    publisher.publish(
                        new Draft(room, "carol", "m-" + sent[0], "text " + sent[0], null));
                  }
                  if (sent[0] == total) {
                    vertx.cancelTimer(id);
                    published.complete(null);
                  }
                });
          });
      // Every 10 ms a join, twenty in all; meanwhile the first five, once admitted, leave, and
      // three ticks later rejoin resuming from where they left. Driven by state, not by tick
      // numbers: a late periodic timer catches up with several ticks in a row.
      loop.run(
          () -> {
            int[] tick = {0};
            int[] leftAt = new int[RESUMING];
            vertx.setPeriodic(
                10,
                id -> {
                  try {
                    int t = tick[0]++;
                    if (t < count) {
                      hub.join(members.get(t), room, null, null).onFailure(failures::add);
                    }
                    for (int i = 0; i < RESUMING; i++) {
                      RecordingMember m = members.get(i);
                      if (!resumeFrom.containsKey(m) && !m.joins().isEmpty() && t >= 5 + i) {
                        resumeFrom.put(m, m.last());
                        leftAt[i] = t;
                        hub.leave(m, room);
                      } else if (resumeFrom.containsKey(m)
                          && leftAt[i] >= 0
                          && t >= leftAt[i] + 3) {
                        leftAt[i] = -1;
                        String epoch = m.joins().get(0).snapshot().epoch();
                        hub.join(m, room, epoch, resumeFrom.get(m)).onFailure(failures::add);
                      }
                    }
                    if (t >= count && Arrays.stream(leftAt).allMatch(at -> at == -1)) {
                      vertx.cancelTimer(id);
                      scheduled.complete(null);
                    }
                  } catch (RuntimeException e) {
                    failures.add(e);
                  }
                });
          });
      published.get(20, TimeUnit.SECONDS);
      scheduled.get(10, TimeUnit.SECONDS);
      for (RecordingMember m : members) {
        m.awaitSeq(total);
      }
    }

    assertThat(failures).isEmpty();
    // The stream lost nothing, so the hub bridged every join without a repair read.
    assertThat(loop.call(broker::reads)).isEqualTo(count + RESUMING);
    assertThat(loop.call(broker::readsOvertaken))
        .as("joins answered while newer messages were in flight")
        .isPositive();
    for (RecordingMember m : members) {
      assertThat(m.problems()).as("%s", m).isEmpty();
      List<Long> stream = m.stream();
      Snapshot first = m.joins().get(0).snapshot();
      assertThat(first.recovered()).isFalse();
      assertThat(holes(stream)).as("%s, joined %s", m, m.joins()).isEmpty();
      assertThat(stream).as("%s", m).isEqualTo(range(first.seqOf(0), total));
      for (Event e : m.events()) {
        if (e instanceof Delivered d) {
          assertThat(new JsonObject(new String(d.frame(), UTF_8)).getLong("seq"))
              .isEqualTo(d.seq());
        }
      }
    }
    for (RecordingMember m : members.subList(0, RESUMING)) {
      Joined again = m.joins().get(1);
      assertThat(again.snapshot().recovered()).as("%s resumed", m).isTrue();
    }
  }

  /** Where {@code stream} is not one seq after another. */
  private static List<String> holes(List<Long> stream) {
    List<String> holes = new ArrayList<>();
    for (int i = 1; i < stream.size(); i++) {
      if (stream.get(i) != stream.get(i - 1) + 1) {
        holes.add(stream.get(i - 1) + " then " + stream.get(i));
      }
    }
    return holes;
  }

  @Test
  @DisplayName("repairs a gap in the live stream from history, in order, with one read")
  void repairsGap() {
    RecordingMember ann = member("ann");
    join(ann);
    broker.readDelay(3);
    loop.run(() -> broker.dropLive((r, seq) -> true));
    for (int i = 1; i <= 5; i++) {
      publish("lost " + i);
    }
    loop.drain();
    Snapshot history = loop.await(() -> broker.read(room, new ReadRequest(null, null, 10)));
    int readsBefore = loop.call(broker::reads);

    // Message 5 reaches the hub but 1-4 never did; 6 and 7 arrive while it repairs.
    loop.run(
        () -> {
          broker.dropLive((r, seq) -> false);
          hub.onMessage(room, history.epoch(), 5, history.messages().get(4));
        });
    publish("six");
    publish("seven");
    ann.awaitSeq(7);

    assertThat(ann.delivered()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
    for (Event e : ann.events()) {
      if (e instanceof Delivered d) {
        assertThat(new String(d.frame(), UTF_8)).contains("\"seq\":" + d.seq() + ",");
      }
    }
    assertThat(loop.call(broker::reads)).isEqualTo(readsBefore + 1);
    assertThat(gapsRepaired()).as("one gap, one repair").isEqualTo(1);
  }

  @Test
  @DisplayName("starts every member over with a new joined when the room's epoch changes")
  void epochChange() {
    RecordingMember ann = member("ann");
    RecordingMember ben = member("ben");
    join(ann);
    join(ben);
    publish("one");
    publish("two");
    ann.awaitSeq(2);
    ben.awaitSeq(2);
    String oldEpoch = loop.call(broker::epoch);

    loop.run(broker::loseData);
    String newEpoch = loop.call(broker::epoch);
    assertThat(newEpoch).isNotEqualTo(oldEpoch);
    publish("first of the new epoch");
    for (RecordingMember m : List.of(ann, ben)) {
      m.awaitEvents(e -> e instanceof Joined, 2, "a second joined");
    }
    publish("second of the new epoch");

    for (RecordingMember m : List.of(ann, ben)) {
      // The old epoch's seq 2, then the new one's.
      m.awaitEvents(e -> e instanceof Delivered d && d.seq() == 2, 2, "seq 2 of the new epoch");
      List<Event> events = m.events();
      int reset = events.indexOf(m.joins().get(1));
      Snapshot s = m.joins().get(1).snapshot();
      assertThat(s.epoch()).isEqualTo(newEpoch);
      assertThat(s.recovered()).isFalse();
      assertThat(s.seq()).isEqualTo(1);
      assertThat(s.messages()).hasSize(1);
      assertThat(events.subList(0, reset))
          .filteredOn(e -> e instanceof Delivered)
          .extracting(e -> ((Delivered) e).seq())
          .containsExactly(1L, 2L);
      assertThat(events.subList(reset + 1, events.size()))
          .filteredOn(e -> e instanceof Delivered)
          .extracting(e -> ((Delivered) e).seq())
          .containsExactly(2L);
      assertThat(m.stream()).containsExactly(1L, 2L);
    }
    assertThat(gapsRepaired()).as("a start-over is not a repaired gap").isZero();
  }

  @Test
  @DisplayName(
      "keeps delivering to the members that stay when one leaves, drops the room with the last, and ignores leaves of what it does not hold")
  void leaveKeepsTheOthers() {
    RecordingMember ann = member("ann");
    RecordingMember ben = member("ben");
    join(ann);
    join(ben);
    loop.run(
        () -> {
          hub.leave(member("cat"), room);
          hub.leave(ann, "r-never-joined-" + UUID.randomUUID());
        });
    leave(ann);
    assertThat(loop.call(hub::size)).isEqualTo(1);

    publish("after ann left");
    ben.awaitSeq(1);
    assertThat(ann.delivered()).isEmpty();
    leave(ben);
    assertThat(loop.call(hub::size)).isZero();
  }

  private double gapsRepaired() {
    return metrics.registry().get("chat.seq.gaps.repaired").counter().count();
  }

  @ParameterizedTest(name = "reads answered after {0} ms")
  @ValueSource(ints = {0, 2})
  @DisplayName("drops a late message of a lost epoch instead of repairing forever")
  void lateMessageOfLostEpoch(int readDelayMs) {
    RecordingMember ann = member("ann");
    broker.readDelay(readDelayMs);
    join(ann);
    publish("one");
    ann.awaitSeq(1);
    String oldEpoch = loop.call(broker::epoch);
    loop.run(broker::loseData);
    publish("first of the new epoch");
    ann.awaitEvents(e -> e instanceof Joined, 2, "the new epoch's joined");

    // Still in flight when the store lost the room: message 2 of the old epoch.
    byte[] late = ServerFrames.message(room, 2, "late", "carol", "late", null, 1L);
    loop.run(() -> hub.onMessage(room, oldEpoch, 2, late));
    publish("second of the new epoch");
    ann.awaitEvents(e -> e instanceof Delivered d && d.seq() == 2, 1, "seq 2 of the new epoch");

    assertThat(loop.call(broker::readsInFlight)).as("reads still going on").isZero();
    assertThat(ann.delivered()).containsExactly(1L, 2L);
    assertThat(ann.stream()).containsExactly(1L, 2L);
    assertThat(
            ann.events().stream()
                .filter(e -> e instanceof Delivered d && d.seq() == 2)
                .map(e -> new String(((Delivered) e).frame(), UTF_8)))
        .noneMatch(f -> f.contains("\"late\""));
  }
}
