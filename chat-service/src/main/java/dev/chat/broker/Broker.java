package dev.chat.broker;

import io.vertx.core.Future;

/**
 * Stores room messages and fans them out to every subscribed broker of the cluster: the pub/sub and
 * history part of a node's {@link Backend}, beside its {@link Presence} and {@link
 * ConnectionCounter}.
 *
 * <p>One instance serves one event loop: every method is called on that loop and every future and
 * listener callback completes on it. The guarantees, shared by every implementation and checked by
 * one contract test suite:
 *
 * <ul>
 *   <li>{@link #publish} is idempotent on (room, user, client id) for the dedup window: a repeat
 *       returns the first {@link Stored} and stores and publishes nothing.
 *   <li>Within an epoch, a room's seq starts at 1 and grows by exactly 1 per stored message; a
 *       publish completes only after the message is in history and published.
 *   <li>The live stream is at-most-once and in seq order per room: a listener may see gaps (a slow
 *       or reconnected subscriber) and must repair them with {@link #read}.
 *   <li>An epoch changes only when the room's history was lost or may have been rolled back (the
 *       store came back from an older state); it changes before anything else is stored, so no seq
 *       is reused for a different message within one epoch.
 * </ul>
 */
public interface Broker {

  /** Sets where live traffic of subscribed rooms and connection events go. */
  void listener(BrokerListener listener);

  /** Subscribes to a room's live stream; completes once the subscription is confirmed live. */
  Future<Void> subscribe(String room);

  /** Stops the live stream of a room on this broker. */
  Future<Void> unsubscribe(String room);

  /** Stores and publishes a message, or returns the earlier result for a repeated client id. */
  Future<Stored> publish(Draft draft);

  /** Reads a room's state and history without touching presence. */
  Future<Snapshot> read(String room, ReadRequest read);
}
