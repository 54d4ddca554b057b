package dev.chat.broker;

import java.util.List;

/**
 * A room as read at one instant: its epoch and last seq, the requested messages (contiguous, ending
 * at {@code seq}), whether they continue the reader's position ({@code recovered}), and its
 * presence.
 */
public record Snapshot(
    String epoch,
    long seq,
    List<byte[]> messages,
    boolean recovered,
    int online,
    List<String> users,
    boolean usersTruncated) {

  /** The seq of {@code messages.get(i)}. */
  public long seqOf(int i) {
    return seq - messages.size() + 1 + i;
  }
}
