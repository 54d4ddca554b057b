package dev.chat.broker;

/**
 * A message to store: {@code room} receives it, {@code from} wrote it with client id {@code id};
 * {@code to} is the recipient of a direct message, else null; {@code change} makes it an edit or a
 * delete of an earlier message (v1.1), else null ({@code text} is null for a delete).
 */
public record Draft(String room, String from, String id, String text, String to, Change change) {

  /** A plain message. */
  public Draft(String room, String from, String id, String text, String to) {
    this(room, from, id, text, to, null);
  }

  /**
   * What an edit or delete does to its target: the stored message {@code target} of the room, which
   * must be a plain message by the same author unless {@code anyAuthor} (a moderator's delete).
   */
  public record Change(boolean delete, long target, boolean anyAuthor) {

    /** The frame field naming the target: {@code edits} or {@code deletes}. */
    public String field() {
      return delete ? "deletes" : "edits";
    }
  }
}
