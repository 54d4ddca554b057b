package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.TestLoop;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The reconnect backoff on a real Vert.x timer, driven from its own event loop. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("The reconnect backoff")
class BackoffTest {

  private Vertx vertx;
  private TestLoop loop;
  private Backoff backoff;

  @BeforeAll
  void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  void closeVertx() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @BeforeEach
  void newBackoff() {
    loop = TestLoop.on(vertx);
    backoff = new Backoff(vertx);
  }

  @AfterEach
  void closeLoop() {
    loop.close();
  }

  @Test
  @DisplayName("waits 50 ms first, doubling each time up to 2 s, and starts at 50 ms after a reset")
  void doublesUpToTwoSecondsAndResets() {
    List<Long> delays =
        loop.call(
            () -> {
              List<Long> d = new ArrayList<>();
              for (int i = 0; i < 9; i++) {
                d.add(backoff.schedule(() -> {}));
              }
              backoff.reset();
              d.add(backoff.schedule(() -> {}));
              d.add(backoff.schedule(() -> {}));
              backoff.cancel();
              return d;
            });
    assertThat(delays)
        .containsExactly(50L, 100L, 200L, 400L, 800L, 1600L, 2000L, 2000L, 2000L, 50L, 100L);
  }

  @Test
  @DisplayName("runs the attempt on the caller's event loop once its delay has passed")
  void runsTheAttemptAfterItsDelay() throws Exception {
    CompletableFuture<Boolean> ranOnLoop = new CompletableFuture<>();
    long scheduled = System.nanoTime();
    long delay =
        loop.call(
            () ->
                backoff.schedule(
                    () -> ranOnLoop.complete(Vertx.currentContext() == loop.context())));
    assertThat(ranOnLoop.get(5, TimeUnit.SECONDS)).as("ran on the caller's loop").isTrue();
    long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - scheduled);
    assertThat(delay).isEqualTo(50);
    assertThat(waitedMs).isGreaterThanOrEqualTo(delay - 5);
  }

  @Test
  @DisplayName("keeps at most one attempt pending: a new schedule replaces the earlier one")
  void aNewScheduleReplacesThePendingAttempt() throws Exception {
    AtomicBoolean first = new AtomicBoolean();
    CompletableFuture<Boolean> firstRanBySecond = new CompletableFuture<>();
    loop.run(
        () -> {
          backoff.schedule(() -> first.set(true)); // due at 50 ms
          // due at 100 ms, after the first would have run: it is the fence
          backoff.schedule(() -> firstRanBySecond.complete(first.get()));
        });
    assertThat(firstRanBySecond.get(5, TimeUnit.SECONDS)).as("replaced attempt ran").isFalse();
  }

  @Test
  @DisplayName("runs nothing after cancel")
  void cancelStopsThePendingAttempt() throws Exception {
    AtomicBoolean ran = new AtomicBoolean();
    CompletableFuture<Boolean> ranByFence = new CompletableFuture<>();
    loop.run(
        () -> {
          backoff.schedule(() -> ran.set(true)); // due at 50 ms
          backoff.cancel();
          vertx.setTimer(200, t -> ranByFence.complete(ran.get()));
        });
    assertThat(ranByFence.get(5, TimeUnit.SECONDS)).as("cancelled attempt ran").isFalse();
  }
}
