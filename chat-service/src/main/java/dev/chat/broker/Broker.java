package dev.chat.broker;

import dev.chat.protocol.Names;
import io.vertx.core.Future;
import java.util.function.ToIntFunction;

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
 *   <li>{@link #history} pages back through what {@link #read} would return: contiguous stored
 *       messages, oldest first, each page ending just below the seq it was asked for.
 *   <li>A {@link Draft} with a {@link Draft.Change} (an edit or delete) is stored like any message
 *       only when its target is a plain message the room still stores, by the same author unless
 *       the change allows any author, and for an edit only when no delete of it is stored;
 *       otherwise it fails with {@link ChangeRefusedException}, after the dedup check, so a repeat
 *       of a stored change still gets its first result.
 *   <li>{@link #signal} reaches every broker subscribed to the room, this one included, at most
 *       once; nothing is stored.
 *   <li>A read position ({@link #markRead}, {@link #markSeen}) only moves forward and never past
 *       the room's last seq; {@link Snapshot#read} carries the positions of the users it lists.
 *   <li>{@link #disconnect} reaches every started broker of the cluster, this one included, that
 *       can hear the broker at that moment; each closes its loop's connections of the user and
 *       reports how many.
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

  /**
   * A direct message from {@code from} to {@code to}: stored in the recipient's inbox, then in the
   * sender's (one copy when they are the same user); completes with the sender's copy. The one way
   * a direct message is published, for the socket's {@code dm} and the server API alike.
   */
  default Future<Stored> publishDirect(String from, String to, String id, String text) {
    String mine = Names.inboxOf(from);
    if (to.equals(from)) {
      return publish(new Draft(mine, from, id, text, to));
    }
    return publish(new Draft(Names.inboxOf(to), from, id, text, to))
        .compose(theirs -> publish(new Draft(mine, from, id, text, to)));
  }

  /**
   * Up to {@code limit} stored messages of a room with a seq below {@code before} (null: the
   * newest), oldest first, and whether older ones are still stored.
   */
  Future<Page> history(String room, Long before, int limit);

  /**
   * Sets what closes this loop's connections of a user when any broker of the cluster asks for it
   * ({@link #disconnect}); it returns how many it closed and runs on this broker's loop.
   */
  void disconnects(ToIntFunction<String> closer);

  /**
   * Asks every broker of the cluster, this one included, to close its connections of {@code user};
   * completes with the connections they report closed within the broker timeout.
   */
  Future<Disconnected> disconnect(String user);

  /** Fans an ephemeral frame out to every broker subscribed to {@code room}; stores nothing. */
  Future<Void> signal(String room, Signal signal);

  /**
   * Moves {@code user}'s read position in {@code room} forward to {@code seq} (capped at the room's
   * last seq); completes with the new position, or -1 when it did not move.
   */
  Future<Long> markRead(String room, String user, long seq);

  /**
   * A direct message's "seen": {@code reader} has read the direct message with client id {@code id}
   * from {@code sender}; moves the reader's position in the sender's inbox forward to the seq of
   * the sender's own copy. Completes with the new position, or -1 when it did not move or that copy
   * is no longer stored.
   */
  Future<Long> markSeen(String sender, String reader, String id);

  /** Reads a room's state and history without touching presence. */
  Future<Snapshot> read(String room, ReadRequest read);
}
