package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.LongStream;

/**
 * A fleet of {@link ResumingChatClient}s on one Vert.x event loop of their own, ticked every 50 ms:
 * what a test uses to keep many well-behaved clients talking to the service while it breaks things.
 * {@link #close()} stops them all (without counting their own closes) and the event loop.
 *
 * <pre>{@code
 * ResumingClients fleet = cluster.track(ResumingClients.start(Settings.sendingEvery(150)));
 * ResumingChatClient c = fleet.add(user, room, List.of(cluster.a()::wsUri, cluster.b()::wsUri));
 * fleet.awaitAll("every client joined", ResumingChatClient::joined, Duration.ofSeconds(20));
 * }</pre>
 */
public final class ResumingClients implements AutoCloseable {

  private static final long TICK_MS = 50;
  private static final Duration ON_LOOP_TIMEOUT = Duration.ofSeconds(10);

  private final ResumingChatClient.Settings settings;
  private final Vertx vertx;
  private final Context loop;
  private final WebSocketClient sockets;
  private final List<ResumingChatClient> clients = new ArrayList<>();
  private boolean closed;

  private ResumingClients(ResumingChatClient.Settings settings) {
    this.settings = settings;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    this.loop = vertx.getOrCreateContext();
    this.sockets =
        vertx.createWebSocketClient(
            new WebSocketClientOptions().setMaxConnections(1_000).setConnectTimeout(2_000));
    onLoop(
        () ->
            vertx.setPeriodic(
                TICK_MS,
                t -> {
                  long now = ResumingChatClient.now();
                  clients.forEach(c -> c.tick(now));
                }));
  }

  public static ResumingClients start(ResumingChatClient.Settings settings) {
    return new ResumingClients(settings);
  }

  /**
   * Adds a client of {@code room} and connects it to the first of {@code endpoints} (each a
   * function of the user to a WebSocket URI, tried in turn after the first join). It does not send
   * until {@link #sending} (or its own {@link ResumingChatClient#sending}) says so.
   */
  public ResumingChatClient add(String user, String room, List<Function<String, URI>> endpoints) {
    return onLoop(
        () -> {
          ResumingChatClient c =
              new ResumingChatClient(user, room, endpoints, settings, vertx, loop, sockets);
          clients.add(c);
          c.connect();
          return c;
        });
  }

  /** Every client, in the order added. */
  public List<ResumingChatClient> clients() {
    return onLoop(() -> List.copyOf(clients));
  }

  /** Starts or stops every client's new messages. */
  public void sending(boolean on) {
    onLoop(
        () -> {
          clients.forEach(c -> c.sending(on));
          return null;
        });
  }

  /**
   * Waits until {@code condition} holds for every client, checking it on the clients' event loop;
   * throws an {@link AssertionError} naming {@code what} and describing up to five clients for
   * which it did not.
   */
  public void awaitAll(String what, Predicate<ResumingChatClient> condition, Duration timeout) {
    if (!await(() -> clients.stream().allMatch(condition), timeout)) {
      List<String> state =
          onLoop(
              () ->
                  clients.stream()
                      .filter(condition.negate())
                      .map(ResumingChatClient::describe)
                      .limit(5)
                      .toList());
      throw new AssertionError("not within " + timeout + ": " + what + "; e.g. " + state);
    }
  }

  /**
   * Waits until {@code condition} holds, checking it on the clients' event loop every 50 ms; false
   * if {@code timeout} passed first.
   */
  public boolean await(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!onLoop(condition::getAsBoolean)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      try {
        Thread.sleep(TICK_MS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    return true;
  }

  /**
   * Asserts that every message acknowledged to any client was delivered to every client exactly
   * once, in seq order with no gap, after the client's own de-duplication by seq, in one epoch (no
   * client reset, no problem seen): waits up to {@code timeout} for every client to reach the
   * highest acked seq first.
   */
  public void assertEveryAckedMessageOnce(Duration timeout) {
    List<ResumingChatClient> all = clients();
    Map<String, Long> acked = new HashMap<>();
    all.forEach(c -> acked.putAll(c.acked()));
    long last = acked.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    assertThat(await(() -> all.stream().allMatch(c -> c.lastSeq() >= last), timeout))
        .as("every client received up to seq %d", last)
        .isTrue();
    for (ResumingChatClient c : all) {
      var received = c.received();
      assertThat(c.problems()).as("protocol problems seen by %s", c.user()).isEmpty();
      assertThat(c.resets()).as("resumes of %s that did not recover", c.user()).isZero();
      assertThat(received.keySet())
          .as("seqs of %s: every one after its first join, in order", c.user())
          .containsExactlyElementsOf(
              LongStream.rangeClosed(c.runStart(), c.lastSeq()).boxed().toList());
      List<String> ids = new ArrayList<>(received.values());
      assertThat(ids).as("message ids received by %s", c.user()).doesNotHaveDuplicates();
      acked.forEach(
          (id, seq) -> {
            if (seq >= c.runStart()) {
              assertThat(received.get(seq))
                  .as("%s has acked message %s at seq %d", c.user(), id, seq)
                  .isEqualTo(id);
            }
          });
    }
  }

  /** Runs {@code task} on the clients' event loop and returns its result. */
  public <T> T onLoop(Callable<T> task) {
    return onLoop(loop, task);
  }

  /** Runs {@code task} on {@code loop} (at once if this is its thread) and returns its result. */
  static <T> T onLoop(Context loop, Callable<T> task) {
    Context current = Vertx.currentContext();
    // The Vert.x of a fleet has one event loop: any of its contexts (HTTP handlers run on
    // duplicates of the loop's) runs on the thread the task wants, and waiting there would hang.
    if (current != null && current.owner() == loop.owner()) {
      try {
        return task.call();
      } catch (Exception e) {
        throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
      }
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    loop.runOnContext(
        v -> {
          try {
            result.complete(task.call());
          } catch (Throwable e) {
            result.completeExceptionally(e);
          }
        });
    try {
      return result.get(ON_LOOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e);
    } catch (TimeoutException e) {
      throw new AssertionError("the clients' event loop did not answer within " + ON_LOOP_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Stops every client and the event loop. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      onLoop(
          () -> {
            clients.forEach(ResumingChatClient::shutdown);
            return null;
          });
    } finally {
      vertx
          .close()
          .toCompletionStage()
          .toCompletableFuture()
          .orTimeout(10, TimeUnit.SECONDS)
          .exceptionally(e -> null)
          .join();
    }
  }
}
