package dev.chat.broker;

/**
 * An ephemeral frame of a room (v1.1): never stored, at-most-once, in no order with the stream.
 * {@code frame} is encoded once by the node it came from and passed on to members as is.
 */
@SuppressWarnings("ArrayRecordComponent") // the frame is passed on as is, never compared
public record Signal(Kind kind, String user, byte[] frame) {

  /** What the frame says, which decides who receives it. */
  public enum Kind {
    /** {@code user} is typing: every member but the user's own connections. */
    TYPING('T'),
    /** {@code user} read the room: every member, the user's own connections included. */
    READ('R');

    private final char tag;

    Kind(char tag) {
      this.tag = tag;
    }

    /** The payload tag on the Redis channel. */
    char tag() {
      return tag;
    }

    static Kind of(byte tag) {
      return switch (tag) {
        case 'T' -> TYPING;
        case 'R' -> READ;
        default -> null;
      };
    }
  }
}
