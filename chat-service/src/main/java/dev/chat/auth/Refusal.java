package dev.chat.auth;

import com.nimbusds.jwt.proc.BadJWTException;

/**
 * Why one of our checks inside nimbus's processor refused a token, worded for the 401 answer. A
 * {@link BadJWTException} so that the processor passes it through unchanged from a type or claims
 * verifier; {@link TokenVerifier} turns it into an {@link InvalidTokenException}.
 */
final class Refusal extends BadJWTException {

  Refusal(String reason) {
    super(reason);
  }

  /** Refusals are expected input, often many under attack: no stack trace to fill. */
  @Override
  public synchronized Throwable fillInStackTrace() {
    return this;
  }
}
