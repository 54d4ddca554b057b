package dev.chat.broker;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * One broker on its own event loop, standing in for a node of a test cluster: runs broker calls on
 * that loop while the test thread waits for their result, and records what the listener hears.
 *
 * <p>Every future and listener callback must arrive on the broker's loop (the {@link Broker}
 * guarantee); one that does not is recorded in {@link #offLoop()}.
 */
final class BrokerNode {

  static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
  static final Duration EVENT_TIMEOUT = Duration.ofSeconds(5);

  /** What the listener heard, in order. */
  sealed interface Event {}

  @SuppressWarnings("ArrayRecordComponent") // the frame is read as text, never compared as a record
  record Message(String room, String epoch, long seq, byte[] frame) implements Event {
    @Override
    public String toString() {
      return "Message["
          + room
          + " "
          + epoch
          + " #"
          + seq
          + " "
          + new String(frame, StandardCharsets.UTF_8)
          + "]";
    }
  }

  record Presence(String room, String event, String user, int online) implements Event {}

  record Resync() implements Event {}

  @SuppressWarnings("ArrayRecordComponent") // read as text, never compared
  record Signalled(String room, Signal.Kind kind, String user, byte[] frame) implements Event {}

  /** A resync of only the rooms {@code affected} accepts (a Redis Cluster shard came back). */
  record ShardResync(Predicate<String> affected) implements Event {}

  private final Context context;
  private final Thread loop;
  private final Backend backend;
  private final List<Event> events = new CopyOnWriteArrayList<>();
  private final List<String> offLoop = new CopyOnWriteArrayList<>();
  private boolean stopped;

  private BrokerNode(Context context, Thread loop, Backend backend) {
    this.context = context;
    this.loop = loop;
    this.backend = backend;
  }

  /** Creates the broker on a new event-loop context of {@code vertx} and starts it there. */
  static BrokerNode start(Vertx vertx, Function<Context, Backend> backends) {
    Context context = vertx.getOrCreateContext();
    CompletableFuture<BrokerNode> created = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          BrokerNode node =
              new BrokerNode(context, Thread.currentThread(), backends.apply(context));
          node.backend.broker().listener(node.new Recorder());
          created.complete(node);
        });
    BrokerNode node = await(created, "creating the broker");
    node.call(Backend::start);
    return node;
  }

  /** Runs {@code op} on the broker's loop; completes with its future's outcome. */
  <T> CompletableFuture<T> async(Function<Backend, Future<T>> op) {
    CompletableFuture<T> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          Future<T> f;
          try {
            f = op.apply(backend);
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
            return;
          }
          f.onComplete(
              ar -> {
                checkLoop("a future");
                if (ar.succeeded()) {
                  done.complete(ar.result());
                } else {
                  done.completeExceptionally(ar.cause());
                }
              });
        });
    return done;
  }

  /** Runs {@code op} on the broker's loop and returns its result; fails the test if it fails. */
  <T> T call(Function<Backend, Future<T>> op) {
    return await(async(op), "a broker call");
  }

  /**
   * Runs {@code op} on the broker's loop and returns why it failed; fails the test if it succeeds.
   */
  <T> Throwable failure(Function<Backend, Future<T>> op) {
    CompletableFuture<T> f = async(op);
    try {
      Object result = f.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      throw new AssertionError("expected the call to fail, but it succeeded with " + result);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (TimeoutException e) {
      throw new AssertionError("the call neither failed nor succeeded within " + CALL_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  Stored publish(Draft draft) {
    return call(b -> b.broker().publish(draft));
  }

  Snapshot join(String room, String user, ReadRequest read) {
    return call(b -> b.presence().join(room, user, read, false));
  }

  boolean acquire(String key, int max) {
    return call(b -> b.connections().acquire(key, max));
  }

  Snapshot read(String room, ReadRequest read) {
    return call(b -> b.broker().read(room, read));
  }

  void subscribe(String room) {
    call(b -> b.broker().subscribe(room));
  }

  boolean ready() {
    return call(b -> Future.succeededFuture(b.ready()));
  }

  /** The live messages of {@code room} heard so far. */
  List<Message> messages(String room) {
    return only(Message.class, m -> m.room().equals(room));
  }

  List<Presence> presences(String room) {
    return only(Presence.class, p -> p.room().equals(room));
  }

  int resyncs() {
    return only(Resync.class, r -> true).size() + only(ShardResync.class, r -> true).size();
  }

  /** Whether a resync so far covered {@code room}. */
  boolean resynced(String room) {
    return !only(Resync.class, r -> true).isEmpty()
        || only(ShardResync.class, r -> r.affected().test(room)).size() > 0;
  }

  /** Waits until {@code room} has at least {@code count} live messages; returns them all. */
  List<Message> awaitMessages(String room, int count) {
    return waitFor(
        "at least " + count + " messages in " + room, () -> messages(room), l -> l.size() >= count);
  }

  /**
   * Waits until {@code room} has a live message of seq {@code seq}; returns every message of the
   * room.
   */
  List<Message> awaitSeq(String room, long seq) {
    return waitFor(
        "message " + seq + " of " + room,
        () -> messages(room),
        l -> l.stream().anyMatch(m -> m.seq() == seq));
  }

  /**
   * Waits until a presence event for {@code user} arrives; returns every presence event of the
   * room.
   */
  List<Presence> awaitPresence(String room, String event, String user, Duration timeout) {
    return waitFor(
        event + " of " + user + " in " + room,
        timeout,
        () -> presences(room),
        l -> l.stream().anyMatch(p -> p.event().equals(event) && p.user().equals(user)));
  }

  List<Presence> awaitPresence(String room, String event, String user) {
    return awaitPresence(room, event, user, EVENT_TIMEOUT);
  }

  /** Callbacks that came on another thread than the broker's loop. */
  List<String> offLoop() {
    return List.copyOf(offLoop);
  }

  /** Closes the broker on its loop; later calls are no-ops. */
  void close() {
    if (!stopped) {
      stopped = true;
      call(Backend::close);
    }
  }

  /**
   * Marks the node as gone without a goodbye (its Vert.x was closed): {@link #close()} does
   * nothing.
   */
  void forget() {
    stopped = true;
  }

  Context context() {
    return context;
  }

  /**
   * Polls {@code value} until it satisfies {@code done}, then returns it; fails at the deadline.
   */
  static <T> T waitFor(String what, Duration timeout, Supplier<T> value, Predicate<T> done) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      T v = value.get();
      if (done.test(v)) {
        return v;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "waited " + timeout.toMillis() + " ms for " + what + ", last saw " + v);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  static <T> T waitFor(String what, Supplier<T> value, Predicate<T> done) {
    return waitFor(what, EVENT_TIMEOUT, value, done);
  }

  static void waitUntil(String what, Duration timeout, BooleanSupplier condition) {
    waitFor(what, timeout, condition::getAsBoolean, ok -> ok);
  }

  static <T> T await(CompletableFuture<T> f, String what) {
    try {
      return f.get(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(what + " failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError(what + " did not complete within " + CALL_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** The events of one kind heard so far that {@code filter} accepts, in order. */
  <E extends Event> List<E> events(Class<E> type, Predicate<E> filter) {
    return only(type, filter);
  }

  private <E extends Event> List<E> only(Class<E> type, Predicate<E> filter) {
    List<E> out = new ArrayList<>();
    for (Event e : events) {
      if (type.isInstance(e) && filter.test(type.cast(e))) {
        out.add(type.cast(e));
      }
    }
    return out;
  }

  private void checkLoop(String what) {
    if (Thread.currentThread() != loop) {
      offLoop.add(what + " on " + Thread.currentThread().getName());
    }
  }

  private final class Recorder implements BrokerListener {

    @Override
    public void onMessage(String room, String epoch, long seq, byte[] frame) {
      checkLoop("onMessage");
      events.add(new Message(room, epoch, seq, frame));
    }

    @Override
    public void onPresence(String room, String event, String user, int online) {
      checkLoop("onPresence");
      events.add(new Presence(room, event, user, online));
    }

    @Override
    public void onSignal(String room, Signal signal) {
      checkLoop("onSignal");
      events.add(new Signalled(room, signal.kind(), signal.user(), signal.frame()));
    }

    @Override
    public void onResync() {
      checkLoop("onResync");
      events.add(new Resync());
    }

    @Override
    public void onResync(Predicate<String> affected) {
      checkLoop("onResync");
      events.add(new ShardResync(affected));
    }
  }
}
