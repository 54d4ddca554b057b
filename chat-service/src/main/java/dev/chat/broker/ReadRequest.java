package dev.chat.broker;

/**
 * What to read of a room's history: every message after {@code since} when the room is still in
 * {@code epoch} and history holds them all (a recovery), else the latest {@code limit} messages. A
 * null epoch or since never recovers.
 */
public record ReadRequest(String epoch, Long since, int limit) {

  /** Reads only the room's state, no messages. */
  public static ReadRequest stateOnly() {
    return new ReadRequest(null, null, 0);
  }

  /** Whether this request can recover: it names a position in an epoch. */
  public boolean wantsRecovery() {
    return epoch != null && since != null;
  }
}
