package dev.chat.broker;

import io.vertx.core.Context;
import io.vertx.core.Future;

/**
 * The embedded backend of one event loop: views of the node's one {@link MemoryStore}, all three
 * owned by this loop, so closing it gives back exactly what the loop held.
 */
public final class MemoryBackend implements Backend {

  private final MemoryStore store;
  private final MemoryBroker broker;
  private final MemoryPresence presence;
  private final MemoryConnectionCounter connections;

  public MemoryBackend(MemoryStore store, Context context, int joinedUsersMax) {
    this.store = store;
    this.broker = new MemoryBroker(store, context, joinedUsersMax);
    // The broker stands for the loop in the store: presences and slots are held in its name.
    this.presence = new MemoryPresence(store, broker, joinedUsersMax);
    this.connections = new MemoryConnectionCounter(store, broker);
  }

  @Override
  public MemoryBroker broker() {
    return broker;
  }

  @Override
  public Presence presence() {
    return presence;
  }

  @Override
  public ConnectionCounter connections() {
    return connections;
  }

  @Override
  public Future<Void> start() {
    store.started(broker);
    return Future.succeededFuture();
  }

  @Override
  public boolean ready() {
    return true;
  }

  @Override
  public Future<Void> close() {
    store.closed(broker);
    store.leaveAll(broker);
    return Future.succeededFuture();
  }
}
