package dev.chat.broker;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * The embedded single-node broker for one event loop: a view of the node's {@link MemoryStore} that
 * hands live traffic (messages and the presence events of {@link MemoryPresence}) to this loop.
 */
public final class MemoryBroker implements Broker {

  private final MemoryStore store;
  private final Context context;
  private final int joinedUsersMax;
  private BrokerListener listener;
  private ToIntFunction<String> closer = user -> 0;

  public MemoryBroker(MemoryStore store, Context context, int joinedUsersMax) {
    this.store = store;
    this.context = context;
    this.joinedUsersMax = joinedUsersMax;
  }

  @Override
  public void listener(BrokerListener listener) {
    this.listener = listener;
  }

  @Override
  public Future<Void> subscribe(String room) {
    store.subscribe(room, this);
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> unsubscribe(String room) {
    store.unsubscribe(room, this);
    return Future.succeededFuture();
  }

  @Override
  public Future<Stored> publish(Draft draft) {
    try {
      return Future.succeededFuture(store.publish(draft));
    } catch (ChangeRefusedException e) {
      return Future.failedFuture(e);
    }
  }

  @Override
  public Future<Void> signal(String room, Signal signal) {
    store.signal(room, signal);
    return Future.succeededFuture();
  }

  @Override
  public Future<Long> markRead(String room, String user, long seq) {
    return Future.succeededFuture(store.markRead(room, user, seq));
  }

  @Override
  public Future<Long> markSeen(String sender, String reader, String id) {
    return Future.succeededFuture(store.markSeen(sender, reader, id));
  }

  @Override
  public Future<Snapshot> read(String room, ReadRequest read) {
    return Future.succeededFuture(store.join(room, null, this, read, true, joinedUsersMax));
  }

  @Override
  public Future<Page> history(String room, Long before, int limit) {
    return Future.succeededFuture(store.history(room, before, limit));
  }

  @Override
  public void disconnects(ToIntFunction<String> closer) {
    this.closer = closer;
  }

  /** Every broker of the node closes its connections on its own loop; the answers meet here. */
  @Override
  public Future<Disconnected> disconnect(String user) {
    List<Future<Integer>> closed = new ArrayList<>();
    for (MemoryBroker b : store.started()) {
      Promise<Integer> done = Promise.promise();
      b.context.runOnContext(
          v -> {
            int n = b.closer.applyAsInt(user);
            context.runOnContext(back -> done.complete(n));
          });
      closed.add(done.future());
    }
    return Future.all(closed)
        .map(
            all -> {
              int sum = 0;
              for (int i = 0; i < all.size(); i++) {
                sum += all.<Integer>resultAt(i);
              }
              return new Disconnected(sum, true);
            });
  }

  // Called by the store under its lock: enqueueing keeps each loop's stream in seq order.
  void deliverMessage(String room, String epoch, long seq, byte[] frame) {
    context.runOnContext(
        v -> {
          if (listener != null) {
            listener.onMessage(room, epoch, seq, frame);
          }
        });
  }

  void deliverSignal(String room, Signal signal) {
    context.runOnContext(
        v -> {
          if (listener != null) {
            listener.onSignal(room, signal);
          }
        });
  }

  void deliverPresence(String room, String event, String user, int online) {
    context.runOnContext(
        v -> {
          if (listener != null) {
            listener.onPresence(room, event, user, online);
          }
        });
  }
}
