package dev.chat.auth;

/** A token that does not prove a user; the message says why, never what the token was. */
public final class InvalidTokenException extends Exception {

  public InvalidTokenException(String reason) {
    super(reason, null, false, false);
  }
}
