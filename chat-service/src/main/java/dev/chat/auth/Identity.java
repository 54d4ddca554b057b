package dev.chat.auth;

/**
 * Who a connection is, fixed at the handshake.
 *
 * @param user the user id (from {@code user}, or a token's {@code sub})
 * @param validUntilMs epoch milliseconds at which the token expires (its {@code exp} plus the
 *     leeway); {@link Long#MAX_VALUE} when nothing expires
 * @param rooms the rooms the token allows joining (inboxes follow their own rule)
 */
public record Identity(String user, long validUntilMs, RoomPatterns rooms) {

  /** An identity without a token: auth mode none. */
  public static Identity unverified(String user) {
    return new Identity(user, Long.MAX_VALUE, RoomPatterns.ANY);
  }

  public boolean expires() {
    return validUntilMs != Long.MAX_VALUE;
  }
}
