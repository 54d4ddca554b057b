package dev.chat.protocol;

/** A frame a client sends to the service, already validated by {@link ClientCodec}. */
public sealed interface ClientFrame {

  /**
   * Join {@code room}; with {@code epoch} and {@code since} (both nullable) to resume after a
   * disconnect.
   */
  record Join(String room, String epoch, Long since) implements ClientFrame {}

  record Leave(String room) implements ClientFrame {}

  /**
   * Store and publish {@code text} in {@code room}; {@code id} is the sender's de-duplication id.
   */
  record Send(String room, String id, String text) implements ClientFrame {}

  /** A direct message to the user {@code to}, stored in both users' inboxes. */
  record Dm(String to, String id, String text) implements ClientFrame {}

  /** Acknowledges delivery of every message of {@code room} up to and including {@code seq}. */
  record Ack(String room, long seq) implements ClientFrame {}

  record Ping() implements ClientFrame {}

  /**
   * Up to {@code limit} stored messages of {@code room} below {@code before} (null: the newest).
   */
  record History(String room, Long before, int limit) implements ClientFrame {}

  /** The user is typing in {@code room}; forwarded to the other members, never stored. */
  record Typing(String room) implements ClientFrame {}

  /** The user has read {@code room} up to and including {@code seq}. */
  record Read(String room, long seq) implements ClientFrame {}

  /** Replaces the text of the user's stored message {@code seq}; {@code id} de-duplicates it. */
  record Edit(String room, long seq, String id, String text) implements ClientFrame {}

  /** Removes the stored message {@code seq}; {@code id} de-duplicates it. */
  record Delete(String room, long seq, String id) implements ClientFrame {}
}
