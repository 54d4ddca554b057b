package dev.chat.protocol;

/** The {@code code} of an {@code error} frame; an error never closes the connection. */
public enum ErrorCode {
  /** Malformed JSON, an unknown {@code type}, or a missing or invalid field. */
  BAD_REQUEST("bad_request"),
  /**
   * A {@code send} to, or {@code leave} of, a room the connection has not joined (acks for such
   * rooms are ignored).
   */
  NOT_JOINED("not_joined"),
  /** Joining another user's inbox. */
  FORBIDDEN("forbidden"),
  /** The user sends faster than allowed; the frame carries {@code retryAfterMs}. */
  RATE_LIMITED("rate_limited"),
  /** The broker cannot be reached; the frame carries {@code "retryable":true}. */
  UNAVAILABLE("unavailable");

  private final String wire;

  ErrorCode(String wire) {
    this.wire = wire;
  }

  /** The value of the frame's {@code code} field. */
  public String wire() {
    return wire;
  }
}
