package dev.chat.broker;

import static dev.chat.broker.BrokerNode.await;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The {@link ConnectionCounter} guarantees, run against every implementation. */
abstract class ConnectionCounterContractTest extends BackendContract {

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

    b.call(backend -> backend.connections().release(key));
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
      tries.add((i % 2 == 0 ? a : b).async(backend -> backend.connections().acquire(key, 7)));
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
    b.call(backend -> backend.connections().release(k1));
    assertThat(b.acquire(k1, 1)).as("b's release of a slot held by a").isFalse();
    a.call(backend -> backend.connections().release(k1));
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
}
