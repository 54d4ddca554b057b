package dev.chat.broker;

import io.vertx.core.Future;

/**
 * Connection slots counted across the cluster; part of a node's {@link Backend}, one per event
 * loop. At most {@code max} slots of a key are held at once, cluster-wide; a node that closes or
 * dies gives its slots back (a dead one once its lease runs out, with its presence).
 */
public interface ConnectionCounter {

  /**
   * Takes a slot of {@code key} (a user's or an address's connections) unless {@code max} are
   * already held across the cluster; completes with whether it was taken. Check and take are
   * atomic.
   */
  Future<Boolean> acquire(String key, int max);

  /** Gives back a slot of {@code key} taken through this counter. */
  Future<Void> release(String key);
}
