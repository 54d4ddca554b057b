package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.TestLoop;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Bounding a broker call in time with a Vert.x timer. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("A deadline on a future")
class DeadlineTest {

  private Vertx vertx;
  private TestLoop loop;

  @BeforeAll
  void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  void closeVertx() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @BeforeEach
  void newLoop() {
    loop = TestLoop.on(vertx);
  }

  @AfterEach
  void closeLoop() {
    loop.close();
  }

  /**
   * The outcome of {@code future} bounded by {@code timeoutMs}, and whether it came on the loop.
   */
  private CompletableFuture<Outcome> within(Future<String> future, long timeoutMs) {
    CompletableFuture<Outcome> outcome = new CompletableFuture<>();
    loop.run(
        () ->
            Deadline.within(vertx, future, timeoutMs, "reading room r")
                .onComplete(
                    ar ->
                        outcome.complete(
                            new Outcome(
                                ar.result(),
                                ar.cause(),
                                Vertx.currentContext() == loop.context()))));
    return outcome;
  }

  private record Outcome(String result, Throwable cause, boolean onLoop) {}

  private static Outcome get(CompletableFuture<Outcome> outcome) throws Exception {
    return outcome.get(5, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("passes on a result that comes in time")
  void passesAResultInTime() throws Exception {
    Promise<String> answer = Promise.promise();
    CompletableFuture<Outcome> outcome = within(answer.future(), 5_000);
    loop.run(() -> answer.complete("snapshot"));
    Outcome o = get(outcome);
    assertThat(o.result()).isEqualTo("snapshot");
    assertThat(o.cause()).isNull();
  }

  @Test
  @DisplayName("passes on a failure that comes in time, with its own cause")
  void passesAFailureInTime() throws Exception {
    Promise<String> answer = Promise.promise();
    CompletableFuture<Outcome> outcome = within(answer.future(), 5_000);
    IllegalStateException boom = new IllegalStateException("ERR script failed");
    loop.run(() -> answer.fail(boom));
    assertThat(get(outcome).cause()).isSameAs(boom);
  }

  @Test
  @DisplayName("passes on a future that is already complete, success or failure")
  void passesACompletedFuture() throws Exception {
    assertThat(get(within(Future.succeededFuture("now"), 5_000)).result()).isEqualTo("now");
    IllegalStateException boom = new IllegalStateException("down");
    assertThat(get(within(Future.failedFuture(boom), 5_000)).cause()).isSameAs(boom);
  }

  @Test
  @DisplayName(
      "fails with BrokerUnavailableException, naming the call, on the caller's loop when no answer"
          + " comes in time; a late answer changes nothing")
  void failsWhenNoAnswerComesInTime() throws Exception {
    Promise<String> answer = Promise.promise();
    long started = System.nanoTime();
    Outcome o = get(within(answer.future(), 100));
    long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertThat(o.cause())
        .isInstanceOf(BrokerUnavailableException.class)
        .hasMessage("reading room r: no answer within 100 ms");
    assertThat(o.onLoop()).as("outcome on the caller's event loop").isTrue();
    assertThat(waitedMs).isGreaterThanOrEqualTo(95);

    Promise<String> late = Promise.promise();
    Future<String> bounded = loop.call(() -> Deadline.within(vertx, late.future(), 50, "x"));
    CompletableFuture<Throwable> failed = new CompletableFuture<>();
    bounded.onFailure(failed::complete);
    failed.get(5, TimeUnit.SECONDS);
    loop.run(() -> late.complete("too late"));
    assertThat(bounded.failed()).isTrue();
    assertThat(bounded.cause()).isInstanceOf(BrokerUnavailableException.class);
  }
}
