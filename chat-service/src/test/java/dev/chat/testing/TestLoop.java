package dev.chat.testing;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One Vert.x event-loop context that a test drives from its own thread, the way Netty's {@code
 * EmbeddedChannel} drives a handler: code confined to an event loop runs there, and the test waits
 * for it with a deadline.
 *
 * <p>The context belongs to an otherwise empty verticle, so {@link #close()} (its undeployment)
 * cancels every timer that code on it left behind.
 */
public final class TestLoop extends VerticleBase implements AutoCloseable {

  /** How long a call on the loop may take before the test fails. */
  public static final Duration DEADLINE = Duration.ofSeconds(5);

  private final Vertx owner;
  private String deployment;

  private TestLoop(Vertx owner) {
    this.owner = owner;
  }

  /** Deploys a new loop on {@code vertx}. */
  public static TestLoop on(Vertx vertx) {
    TestLoop loop = new TestLoop(vertx);
    loop.deployment = join(vertx.deployVerticle(loop), "deploying a test loop");
    return loop;
  }

  public Context context() {
    return context;
  }

  public Vertx vertx() {
    return owner;
  }

  /** Runs {@code body} on the loop and waits for it; an exception it throws fails the test. */
  public void run(ThrowingRunnable body) {
    call(
        () -> {
          body.run();
          return null;
        });
  }

  /** Runs {@code body} on the loop and returns its result. */
  public <T> T call(Callable<T> body) {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            result.complete(body.call());
          } catch (Throwable e) {
            result.completeExceptionally(e);
          }
        });
    return get(result, "a call on the test loop");
  }

  /** Starts {@code start} on the loop and waits for the future it returns. */
  public <T> T await(Supplier<Future<T>> start) {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            start
                .get()
                .onComplete(
                    ar -> {
                      if (ar.succeeded()) {
                        result.complete(ar.result());
                      } else {
                        result.completeExceptionally(ar.cause());
                      }
                    });
          } catch (Throwable e) {
            result.completeExceptionally(e);
          }
        });
    return get(result, "a future on the test loop");
  }

  /**
   * Waits until every task queued on the loop so far has run. Work that the loop hands to itself (a
   * {@code runOnContext} from code on it) is queued in order, so this is a barrier for it.
   */
  public void drain() {
    run(() -> {});
  }

  /** Waits for a timer of {@code delayMs} on the loop to fire: time passes, the loop stays free. */
  public void pass(long delayMs) {
    await(
        () -> {
          Promise<Void> fired = Promise.promise();
          owner.setTimer(delayMs, t -> fired.complete());
          return fired.future();
        });
  }

  @Override
  public Future<?> start() {
    return Future.succeededFuture();
  }

  /** Undeploys the loop's verticle, cancelling the timers left on it. */
  @Override
  public void close() {
    if (deployment != null) {
      join(owner.undeploy(deployment), "undeploying a test loop");
      deployment = null;
    }
  }

  private static <T> T join(Future<T> future, String what) {
    return get(future.toCompletionStage().toCompletableFuture(), what);
  }

  private static <T> T get(CompletableFuture<T> future, String what) {
    try {
      return future.get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(what + " failed", cause);
    } catch (TimeoutException e) {
      throw new AssertionError(what + " did not finish within " + DEADLINE.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for " + what, e);
    }
  }

  /** A body that may throw, for {@link #run}. */
  @FunctionalInterface
  public interface ThrowingRunnable {
    void run() throws Exception;
  }
}
