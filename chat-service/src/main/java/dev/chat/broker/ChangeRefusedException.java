package dev.chat.broker;

/**
 * An edit or delete the broker refused against the stored target: {@code forbidden} when it is
 * another user's message, else the target is no plain message the room still stores (or, for an
 * edit, was deleted).
 */
public final class ChangeRefusedException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final boolean forbidden;

  public ChangeRefusedException(boolean forbidden, String message) {
    super(message, null, false, false);
    this.forbidden = forbidden;
  }

  public boolean forbidden() {
    return forbidden;
  }

  static ChangeRefusedException noSuchMessage(long target) {
    return new ChangeRefusedException(
        false, "seq " + target + " names no stored message of the room (never stored or trimmed)");
  }

  static ChangeRefusedException notAMessage(long target) {
    return new ChangeRefusedException(
        false, "seq " + target + " is an edit or delete, not a message");
  }

  static ChangeRefusedException deleted(long target) {
    return new ChangeRefusedException(false, "message " + target + " was deleted");
  }

  static ChangeRefusedException notYours(long target, boolean delete) {
    return new ChangeRefusedException(
        true,
        delete
            ? "only the author or a moderator may delete message " + target
            : "only the author may edit message " + target);
  }
}
