package dev.chat.broker;

import java.util.List;
import java.util.Map;

/**
 * A room as read at one instant: its epoch and last seq, the requested messages (contiguous, ending
 * at {@code seq}), whether they continue the reader's position ({@code recovered}), its presence,
 * and the read positions of the listed users ({@code read}; for an inbox, of everyone who read in
 * it).
 */
public record Snapshot(
    String epoch,
    long seq,
    List<byte[]> messages,
    boolean recovered,
    int online,
    List<String> users,
    boolean usersTruncated,
    Map<String, Long> read) {

  /** A snapshot with no read positions. */
  public Snapshot(
      String epoch,
      long seq,
      List<byte[]> messages,
      boolean recovered,
      int online,
      List<String> users,
      boolean usersTruncated) {
    this(epoch, seq, messages, recovered, online, users, usersTruncated, Map.of());
  }

  /** This snapshot with {@code read} as its read positions. */
  public Snapshot withRead(Map<String, Long> read) {
    return new Snapshot(epoch, seq, messages, recovered, online, users, usersTruncated, read);
  }

  /** The seq of {@code messages.get(i)}. */
  public long seqOf(int i) {
    return seq - messages.size() + 1 + i;
  }
}
