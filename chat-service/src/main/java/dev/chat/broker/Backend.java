package dev.chat.broker;

import io.vertx.core.Future;

/**
 * What one event loop of a node talks to: its {@link Broker}, {@link Presence} and {@link
 * ConnectionCounter}, which share a store and therefore one life: started, ready and closed
 * together.
 */
public interface Backend {

  Broker broker();

  Presence presence();

  ConnectionCounter connections();

  /** Starts the backend; completes when it can serve, or once it keeps retrying its store. */
  Future<Void> start();

  /** True while the backend can store and deliver. */
  boolean ready();

  /** Announces this loop's leaves, gives back its connection slots and releases its connections. */
  Future<Void> close();
}
