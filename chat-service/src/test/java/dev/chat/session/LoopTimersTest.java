package dev.chat.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The per-loop wheel: deadlines fire in order, never early, once; cancelled ones never. */
class LoopTimersTest {

  private static final long TICK = 10;
  // A small wheel (80 ms a turn), so that deadlines further than one turn are tested quickly.
  private static final int SLOTS = 8;

  private static Vertx vertx;
  private TestLoop loop;
  private LoopTimers timers;
  private final List<String> fired = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  @BeforeEach
  void start() {
    loop = TestLoop.on(vertx);
    timers = loop.call(() -> new LoopTimers(vertx, TICK, SLOTS));
  }

  @AfterEach
  void stop() {
    loop.close();
  }

  /** A timer that records its name and how late it fired. */
  private final class Named extends LoopTimers.Timer {
    final String name;
    long firedAt = -1;

    Named(String name) {
      this.name = name;
    }

    @Override
    void fire(long now) {
      firedAt = LoopTimers.now();
      fired.add(name);
    }
  }

  private Named arm(String name, long delayMs) {
    Named t = new Named(name);
    loop.run(
        () -> {
          long now = LoopTimers.now();
          timers.arm(t, now + delayMs, now);
        });
    return t;
  }

  private void awaitFired(int n) {
    long deadline = System.nanoTime() + TestLoop.DEADLINE.toNanos();
    while (fired.size() < n) {
      assertThat(System.nanoTime()).as("%d timers fired by the deadline", n).isLessThan(deadline);
      loop.pass(TICK);
    }
  }

  @Test
  @DisplayName("fires each deadline once, in deadline order, never before it, also past a turn")
  void firesInOrderNeverEarly() {
    long start = LoopTimers.now();
    Named late = arm("late", 200); // two and a half turns of the wheel
    Named soon = arm("soon", 15);
    Named mid = arm("mid", 60);

    awaitFired(3);
    loop.pass(3 * TICK);

    assertThat(fired).containsExactly("soon", "mid", "late");
    assertThat(soon.firedAt - start).isGreaterThanOrEqualTo(15);
    assertThat(mid.firedAt - start).isGreaterThanOrEqualTo(60);
    assertThat(late.firedAt - start).isGreaterThanOrEqualTo(200);
    assertThat(loop.call(() -> timers.armed())).isZero();
    assertThat(loop.call(() -> timers.running())).as("the periodic timer once empty").isFalse();
  }

  @Test
  @DisplayName("a cancelled timer never fires, and the periodic timer stops with the last one")
  void cancelled() {
    Named a = arm("a", 30);
    Named b = arm("b", 40);
    assertThat(loop.call(() -> timers.running())).isTrue();

    loop.run(() -> timers.cancel(a));
    loop.run(() -> timers.cancel(a)); // idempotent
    awaitFired(1);
    loop.pass(6 * TICK);

    assertThat(fired).containsExactly("b");
    assertThat(a.armed()).isFalse();
    assertThat(loop.call(() -> timers.running())).isFalse();
    loop.run(() -> timers.cancel(b));
    assertThat(loop.call(() -> timers.armed())).isZero();
  }

  @Test
  @DisplayName("re-arming moves a deadline, earlier or later, without a second firing")
  void rearm() {
    long start = LoopTimers.now();
    Named moved = arm("moved", 300);
    Named later = arm("later", 20);
    loop.run(
        () -> {
          long now = LoopTimers.now();
          timers.arm(moved, now + 20, now);
          timers.arm(later, now + 120, now);
        });

    awaitFired(2);
    loop.pass(4 * TICK);

    assertThat(fired).containsExactly("moved", "later");
    assertThat(later.firedAt - start).isGreaterThanOrEqualTo(120);
  }

  @Test
  @DisplayName("a fire may re-arm itself and cancel a timer due in the same tick")
  void fireMayChangeOthers() {
    Named victim = new Named("victim");
    LoopTimers.Timer periodic =
        new LoopTimers.Timer() {
          int runs;

          @Override
          void fire(long now) {
            fired.add("tick" + runs);
            timers.cancel(victim);
            if (++runs < 3) {
              timers.arm(this, now + 15, now);
            }
          }
        };
    loop.run(
        () -> {
          long now = LoopTimers.now();
          timers.arm(periodic, now + 20, now);
          timers.arm(victim, now + 20, now); // same slot, behind it
        });

    awaitFired(3);
    loop.pass(6 * TICK);

    assertThat(fired).containsExactly("tick0", "tick1", "tick2");
    assertThat(loop.call(() -> timers.armed())).isZero();
  }

  @Test
  @DisplayName("a loop that was blocked past a whole turn fires everything due, once")
  void blockedLoop() {
    arm("x", 15);
    arm("y", 35);
    // The loop is busy for two turns of the wheel; the periodic timer cannot run meanwhile.
    loop.run(
        () -> {
          long until = LoopTimers.now() + 2 * TICK * SLOTS;
          while (LoopTimers.now() < until) {
            Thread.onSpinWait();
          }
        });

    awaitFired(2);
    loop.pass(3 * TICK);

    assertThat(fired).containsExactly("x", "y");
  }

  @Test
  @DisplayName("one wheel per event-loop context")
  void perContext() {
    try (TestLoop other = TestLoop.on(vertx)) {
      LoopTimers mine = loop.call(() -> LoopTimers.of(vertx));
      assertThat(loop.call(() -> LoopTimers.of(vertx))).isSameAs(mine);
      assertThat(other.call(() -> LoopTimers.of(vertx))).isNotSameAs(mine);
    }
  }
}
