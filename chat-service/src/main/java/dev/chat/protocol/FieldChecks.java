package dev.chat.protocol;

/**
 * The field rules of the client frames, for other ways in (the server API): each check returns the
 * same message an {@code error} frame would carry for that field, or null when the value is valid.
 * A value may be any decoded JSON value; one that is not a string is reported as such.
 */
public final class FieldChecks {

  private FieldChecks() {}

  /** A room or an inbox, as {@code room} of {@code join}. */
  public static String room(Object value) {
    return ClientCodec.room(value);
  }

  /** A client message id, as {@code id} of {@code send}. */
  public static String id(Object value) {
    return ClientCodec.id(value);
  }

  /** Message text, as {@code text} of {@code send}. */
  public static String text(Object value) {
    return ClientCodec.text(value);
  }

  /** A user id, as {@code to} of {@code dm}, reported under {@code field}. */
  public static String user(String field, Object value) {
    return ClientCodec.required(field, value, Names::isUserId, field + " must be a valid user id");
  }
}
