package dev.chat.broker;

import io.vertx.core.Future;

/** The embedded connection slots of one event loop, counted in the node's {@link MemoryStore}. */
final class MemoryConnectionCounter implements ConnectionCounter {

  private final MemoryStore store;
  private final Object owner;

  MemoryConnectionCounter(MemoryStore store, Object owner) {
    this.store = store;
    this.owner = owner;
  }

  @Override
  public Future<Boolean> acquire(String key, int max) {
    return Future.succeededFuture(store.acquire(key, max, owner));
  }

  @Override
  public Future<Void> release(String key) {
    store.release(key, owner);
    return Future.succeededFuture();
  }
}
