package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The embedded store's bookkeeping called directly, where the broker contract cannot look: slots
 * given back by the wrong owner or twice, read-only joins, the exact end of the dedup window.
 */
@DisplayName("The embedded store")
class MemoryStoreTest {

  private final AtomicLong clock = new AtomicLong(1_000);
  private final MemoryStore store = new MemoryStore(100, 1_000, clock::get);
  private final Object a = new Object();
  private final Object b = new Object();

  @Test
  @DisplayName("ignores a release by an owner that holds no slot of the key")
  void releaseByAnotherOwnerIsIgnored() {
    assertThat(store.acquire("user:ann", 1, a)).isTrue();
    assertThat(store.acquire("ip:1", 5, b)).as("b holds slots, just not this key").isTrue();
    store.release("user:ann", b);
    store.release("user:nobody", b);
    assertThat(store.acquire("user:ann", 1, b)).as("a still holds the only slot").isFalse();
  }

  @Test
  @DisplayName("gives back one slot per release, never more than the owner took")
  void releaseGivesBackOnlyWhatWasTaken() {
    assertThat(store.acquire("ip:1", 2, a)).isTrue();
    assertThat(store.acquire("ip:1", 2, b)).isTrue();
    store.release("ip:1", a);
    store.release("ip:1", a);
    assertThat(store.acquire("ip:1", 2, a)).as("a's one slot is back").isTrue();
    assertThat(store.acquire("ip:1", 2, a)).as("b's slot is still held").isFalse();
  }

  @Test
  @DisplayName("keeps an owner's other keys when one is released, and gives them back on close")
  void leaveAllGivesBackTheRest() {
    assertThat(store.acquire("user:ann", 1, a)).isTrue();
    assertThat(store.acquire("ip:1", 1, a)).isTrue();
    store.release("user:ann", a);
    assertThat(store.acquire("ip:1", 1, b)).as("ip:1 still held by a").isFalse();
    store.leaveAll(a);
    assertThat(store.acquire("ip:1", 1, b)).isTrue();
    assertThat(store.acquire("user:ann", 1, b)).isTrue();
  }

  @Test
  @DisplayName(
      "counts no presence for a join without a user, and leaving an unknown room is a no-op")
  void readOnlyJoinAndUnknownLeave() {
    store.leave("never-seen", "ann", a);
    Snapshot s = store.join("r", null, a, ReadRequest.stateOnly(), false, 10);
    assertThat(s.online()).isZero();
    assertThat(s.users()).isEmpty();
    Snapshot withAnn = store.join("r", "ann", a, ReadRequest.stateOnly(), false, 10);
    assertThat(withAnn.online()).isEqualTo(1);
    assertThat(withAnn.users()).containsExactly("ann");
  }

  @Test
  @DisplayName("forgets a message id exactly when its dedup window ends")
  void dedupWindowEndsExactly() {
    Draft d = new Draft("r", "ann", "k1", "hi", null);
    Stored first = store.publish(d);
    clock.addAndGet(999);
    assertThat(store.publish(d)).isEqualTo(new Stored("r", first.seq(), first.ts(), true));
    clock.addAndGet(1);
    Stored again = store.publish(d);
    assertThat(again.duplicate()).isFalse();
    assertThat(again.seq()).isEqualTo(first.seq() + 1);
  }

  @Test
  @DisplayName("delivers once to a broker that subscribed twice, and nothing after unsubscribing")
  void subscribeTwiceDeliversOnce() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestLoop loop = TestLoop.on(vertx)) {
      MemoryBackend backend = new MemoryBackend(store, loop.context(), 10);
      assertThat(backend.ready()).isTrue();
      MemoryBroker broker = backend.broker();
      List<Long> seqs = new ArrayList<>();
      loop.run(
          () -> {
            broker.listener(
                new BrokerListener() {
                  @Override
                  public void onMessage(String room, String epoch, long seq, byte[] frame) {
                    seqs.add(seq);
                  }

                  @Override
                  public void onPresence(String room, String event, String user, int online) {}

                  @Override
                  public void onSignal(String room, Signal signal) {}

                  @Override
                  public void onResync() {}
                });
            broker.unsubscribe("never-subscribed");
            broker.subscribe("r");
            broker.subscribe("r");
          });
      store.publish(new Draft("r", "ann", "k1", "one", null));
      loop.drain();
      loop.run(() -> broker.unsubscribe("r"));
      store.publish(new Draft("r", "ann", "k2", "two", null));
      loop.drain();
      assertThat(loop.call(() -> List.copyOf(seqs))).containsExactly(1L);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("recovers only a request that names both an epoch and a position")
  void wantsRecoveryNeedsEpochAndSince() {
    assertThat(new ReadRequest("e-1", 3L, 10).wantsRecovery()).isTrue();
    assertThat(new ReadRequest("e-1", null, 10).wantsRecovery()).isFalse();
    assertThat(new ReadRequest(null, 3L, 10).wantsRecovery()).isFalse();
    assertThat(ReadRequest.stateOnly().wantsRecovery()).isFalse();
  }
}
