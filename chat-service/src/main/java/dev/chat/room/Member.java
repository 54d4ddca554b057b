package dev.chat.room;

import dev.chat.broker.Snapshot;

/** A connection as the hub sees it: who it is and where the hub sends a room's traffic. */
public interface Member {

  String user();

  /**
   * The member's view of a room starts over from {@code snapshot}: the answer to its join, or,
   * unasked, after the room's epoch changed or a gap could not be repaired.
   */
  void joined(String room, Snapshot snapshot);

  /** The next message of a room, in seq order; may repeat a seq the member already has. */
  void deliver(String room, long seq, byte[] frame);

  /** A presence frame about another user of the room. */
  void presence(String room, byte[] frame);

  /**
   * An ephemeral frame of the room (typing, a read receipt): never tracked, and dropped rather than
   * queued when the member is not keeping up.
   */
  void signal(String room, byte[] frame);
}
