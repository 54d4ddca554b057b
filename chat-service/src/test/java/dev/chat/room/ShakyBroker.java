package dev.chat.room;

import dev.chat.broker.Broker;
import dev.chat.broker.BrokerListener;
import dev.chat.broker.Disconnected;
import dev.chat.broker.Draft;
import dev.chat.broker.MemoryBackend;
import dev.chat.broker.MemoryStore;
import dev.chat.broker.Page;
import dev.chat.broker.Presence;
import dev.chat.broker.ReadRequest;
import dev.chat.broker.Signal;
import dev.chat.broker.Snapshot;
import dev.chat.broker.Stored;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.function.ToIntFunction;

/**
 * The real embedded broker seen through the weaknesses the {@link Broker} contract allows and the
 * Redis broker has: reads that take time (answered in the order they were made, like commands on
 * one pipelined connection), a live stream that loses messages, and a store that loses its data and
 * starts a new epoch. Everything else is the {@link MemoryBackend}'s own behaviour.
 *
 * <p>Lives on one event loop, like the broker it wraps.
 */
final class ShakyBroker implements Broker, Presence {

  private final Vertx vertx;
  private final Context context;
  private final int historyMax;
  private final BrokerListener relay = new Relay();
  private final Set<String> subscribed = new LinkedHashSet<>();
  private MemoryBackend delegate;
  private BrokerListener listener;
  private long readDelayMs;
  private BiPredicate<String, Long> dropLive = (room, seq) -> false;
  private int reads;
  private int readsInFlight;
  private int readsOvertaken;

  ShakyBroker(Vertx vertx, Context context, MemoryStore store, int historyMax) {
    this.vertx = vertx;
    this.context = context;
    this.historyMax = historyMax;
    use(store);
  }

  /**
   * Makes every read take {@code ms} to reach the store and {@code ms} more to answer; 0 answers at
   * once.
   */
  void readDelay(long ms) {
    readDelayMs = ms;
  }

  /** Loses the live messages that match; the store still has them. */
  void dropLive(BiPredicate<String, Long> drop) {
    dropLive = drop;
  }

  /** The store loses every room: a fresh one, with a new epoch, takes its place. */
  void loseData() {
    use(new MemoryStore(historyMax, 3_600_000, System::currentTimeMillis));
  }

  /** Reads made so far (joins included). */
  int reads() {
    return reads;
  }

  int readsInFlight() {
    return readsInFlight;
  }

  /**
   * Reads whose room had newer messages by the time they were answered (the window the hub must
   * bridge).
   */
  int readsOvertaken() {
    return readsOvertaken;
  }

  /** The epoch the store has now. */
  String epoch() {
    return delegate.broker().read("-", ReadRequest.stateOnly()).result().epoch();
  }

  private void use(MemoryStore store) {
    delegate = new MemoryBackend(store, context, 200);
    delegate.broker().listener(relay);
    subscribed.forEach(delegate.broker()::subscribe);
  }

  @Override
  public void listener(BrokerListener listener) {
    this.listener = listener;
  }

  @Override
  public Future<Void> subscribe(String room) {
    subscribed.add(room);
    return delegate.broker().subscribe(room);
  }

  @Override
  public Future<Void> unsubscribe(String room) {
    subscribed.remove(room);
    return delegate.broker().unsubscribe(room);
  }

  @Override
  public Future<Stored> publish(Draft draft) {
    return delegate.broker().publish(draft);
  }

  @Override
  public Future<Snapshot> read(String room, ReadRequest read) {
    return join(room, null, read, true);
  }

  @Override
  public Future<Snapshot> join(String room, String user, ReadRequest read, boolean silent) {
    reads++;
    if (readDelayMs == 0) {
      return delegate.presence().join(room, user, read, silent);
    }
    readsInFlight++;
    Promise<Snapshot> answer = Promise.promise();
    vertx.setTimer(
        readDelayMs,
        t -> {
          // Read whatever the store holds when the read reaches it, as Redis would.
          Snapshot s = delegate.presence().join(room, user, read, silent).result();
          vertx.setTimer(
              readDelayMs,
              t2 -> {
                Snapshot now = delegate.broker().read(room, ReadRequest.stateOnly()).result();
                if (now.epoch().equals(s.epoch()) && now.seq() > s.seq()) {
                  readsOvertaken++;
                }
                readsInFlight--;
                answer.complete(s);
              });
        });
    return answer.future();
  }

  @Override
  public Future<Page> history(String room, Long before, int limit) {
    return delegate.broker().history(room, before, limit);
  }

  @Override
  public Future<Void> signal(String room, Signal signal) {
    return delegate.broker().signal(room, signal);
  }

  @Override
  public Future<Long> markRead(String room, String user, long seq) {
    return delegate.broker().markRead(room, user, seq);
  }

  @Override
  public Future<Long> markSeen(String sender, String reader, String id) {
    return delegate.broker().markSeen(sender, reader, id);
  }

  @Override
  public void disconnects(ToIntFunction<String> closer) {
    delegate.broker().disconnects(closer);
  }

  @Override
  public Future<Disconnected> disconnect(String user) {
    return delegate.broker().disconnect(user);
  }

  @Override
  public Future<Void> leave(String room, String user) {
    return delegate.presence().leave(room, user);
  }

  /** Passes the store's live traffic on, losing what {@link #dropLive} says. */
  private final class Relay implements BrokerListener {

    @Override
    public void onMessage(String room, String epoch, long seq, byte[] frame) {
      if (listener != null && !dropLive.test(room, seq)) {
        listener.onMessage(room, epoch, seq, frame);
      }
    }

    @Override
    public void onPresence(String room, String event, String user, int online) {
      if (listener != null) {
        listener.onPresence(room, event, user, online);
      }
    }

    @Override
    public void onSignal(String room, Signal signal) {
      if (listener != null) {
        listener.onSignal(room, signal);
      }
    }

    @Override
    public void onResync() {
      if (listener != null) {
        listener.onResync();
      }
    }
  }
}
