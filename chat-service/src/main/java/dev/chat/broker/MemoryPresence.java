package dev.chat.broker;

import io.vertx.core.Future;

/** The embedded presence of one event loop: its presences in the node's {@link MemoryStore}. */
final class MemoryPresence implements Presence {

  private final MemoryStore store;
  private final Object owner;
  private final int joinedUsersMax;

  MemoryPresence(MemoryStore store, Object owner, int joinedUsersMax) {
    this.store = store;
    this.owner = owner;
    this.joinedUsersMax = joinedUsersMax;
  }

  @Override
  public Future<Snapshot> join(String room, String user, ReadRequest read, boolean silent) {
    return Future.succeededFuture(store.join(room, user, owner, read, silent, joinedUsersMax));
  }

  @Override
  public Future<Void> leave(String room, String user) {
    store.leave(room, user, owner);
    return Future.succeededFuture();
  }
}
