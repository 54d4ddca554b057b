package dev.chat.auth;

import java.util.Set;

/**
 * Who a connection is, fixed at the handshake.
 *
 * @param user the user id (from {@code user}, or a token's {@code sub})
 * @param validUntilMs epoch milliseconds at which the token expires (its {@code exp} plus the
 *     leeway); {@link Long#MAX_VALUE} when nothing expires
 * @param rooms the rooms the token allows joining (inboxes follow their own rule)
 * @param roles the token's {@code roles} claim; {@value #MODERATOR} may delete anyone's message
 */
public record Identity(String user, long validUntilMs, RoomPatterns rooms, Set<String> roles) {

  public static final String MODERATOR = "moderator";

  public Identity {
    roles = Set.copyOf(roles);
  }

  /** An identity with no roles. */
  public Identity(String user, long validUntilMs, RoomPatterns rooms) {
    this(user, validUntilMs, rooms, Set.of());
  }

  /** An identity without a token: auth mode none. */
  public static Identity unverified(String user) {
    return new Identity(user, Long.MAX_VALUE, RoomPatterns.ANY);
  }

  public boolean expires() {
    return validUntilMs != Long.MAX_VALUE;
  }

  /** Whether the token names this user a moderator, who may delete (not edit) others' messages. */
  public boolean moderator() {
    return roles.contains(MODERATOR);
  }
}
