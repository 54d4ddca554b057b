package dev.chat.chaos;

import dev.chat.testing.ResumingChatClient;
import dev.chat.testing.ResumingChatClient.Ack;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.ToLongFunction;

/**
 * The final check of what the chaos clients were told against Redis, and the sums of their counts.
 * Called on the clients' event loop once they are quiet.
 */
final class Ledger {

  private static final int VIOLATIONS_KEPT = 40;

  /**
   * A fault that let Redis lose acknowledged writes: acks the clients received from {@code fromMs}
   * (inclusive) to {@code toMs} (exclusive) may be missing from the final history. Outside every
   * such window an ack is a promise that must hold. {@code fromMs} is when the last state Redis
   * came back with was taken (the snapshot's {@code SAVE}), or 0 for none (it came back empty): an
   * ack received before it was for a message stored before it.
   */
  record Loss(String fault, long fromMs, long toMs) {
    boolean covers(long atMs) {
      return atMs >= fromMs && atMs < toMs;
    }
  }

  /** A room as Redis holds it at the end: its epoch and its history, seq → "from/id". */
  record RoomHistory(String room, String epoch, long head, TreeMap<Long, String> messages) {}

  private final List<String> violations = new ArrayList<>();
  private int violationCount;

  /** Every close the clients saw, by code. */
  static Map<Integer, Integer> closeCodes(List<ResumingChatClient> clients) {
    Map<Integer, Integer> codes = new TreeMap<>();
    clients.forEach(c -> c.closes().forEach(close -> codes.merge(close.code(), 1, Integer::sum)));
    return codes;
  }

  /** Every error frame the clients got, by code. */
  static Map<String, Integer> errors(List<ResumingChatClient> clients) {
    Map<String, Integer> codes = new TreeMap<>();
    clients.forEach(c -> c.errors().forEach((code, n) -> codes.merge(code, n, Integer::sum)));
    return codes;
  }

  static long sum(List<ResumingChatClient> clients, ToLongFunction<ResumingChatClient> count) {
    return clients.stream().mapToLong(count).sum();
  }

  private void violation(String what) {
    violationCount++;
    if (violations.size() < VIOLATIONS_KEPT) {
      violations.add(what);
    }
  }

  /** The outcome of {@link #verify}: counts, and every broken promise found. */
  record Report(
      long sent,
      long acked,
      long delivered,
      long duplicates,
      long lost,
      long lostWithEpoch,
      Map<String, Long> lostByFault,
      long storedAgainAfterDataLoss,
      long resets,
      long resends,
      Map<Integer, Integer> closeCodes,
      Map<String, Integer> errors,
      int violationCount,
      List<String> violations) {

    String counts() {
      return "sent="
          + sent
          + " acked="
          + acked
          + " delivered="
          + delivered
          + " duplicates-suppressed="
          + duplicates
          + " lost="
          + lost
          + " lost-with-redis-data(expected, announced by a new epoch)="
          + lostWithEpoch
          + " "
          + lostByFault
          + " stored-again-after-data-loss="
          + storedAgainAfterDataLoss
          + " resets(recovered:false)="
          + resets
          + " resends="
          + resends
          + " close-codes="
          + closeCodes
          + " errors="
          + errors
          + " violations="
          + violationCount;
    }
  }

  /**
   * Checks every promise against the rooms' final state in Redis.
   *
   * <ul>
   *   <li>Every client: no problem of its own (a gap, one seq carrying two messages, {@code
   *       recovered:true} across epochs).
   *   <li>History: no (from, id) is stored twice in the current epoch.
   *   <li>Every ack: the final history holds (from, id) at the acked seq; an ack may only be
   *       missing if it was received inside one of {@code losses} (Redis lost or rolled back that
   *       write). That the clients were told of such a loss is checked where the fault happens:
   *       every client must move to a new epoch through a {@code joined} with {@code
   *       recovered:false}, and a reset within one epoch counts in {@link
   *       ResumingChatClient#sameEpochResets}.
   *   <li>Every client: it ends in the room's current epoch, caught up to its head, and what it
   *       accepted from its run's start to the head is exactly the history there (so no acked
   *       message is missing, duplicated or out of order for it).
   *   <li>All clients agree on which message each seq of each epoch carried, old epochs included.
   * </ul>
   */
  Report verify(
      Map<String, RoomHistory> rooms, List<ResumingChatClient> clients, List<Loss> losses) {
    for (ResumingChatClient c : clients) {
      violationCount += c.problemCount() - c.problems().size();
      c.problems().forEach(this::violation);
    }
    List<Ack> acks = new ArrayList<>();
    clients.forEach(c -> acks.addAll(c.acks()));
    long lost = 0;
    long lostWithEpoch = 0;
    Map<String, Long> lostByFault = new TreeMap<>();
    long storedAgain = 0;
    for (RoomHistory room : rooms.values()) {
      Map<String, Long> where = new HashMap<>();
      room.messages()
          .forEach(
              (seq, key) -> {
                Long other = where.put(key, seq);
                if (other != null) {
                  violation(
                      room.room() + ": " + key + " stored twice, at seq " + other + " and " + seq);
                }
              });
      if (room.messages().size() != room.head()
          || (!room.messages().isEmpty() && room.messages().lastKey() != room.head())) {
        violation(
            room.room()
                + ": history holds "
                + room.messages().size()
                + " messages, head is "
                + room.head());
      }
    }
    Map<String, Map<Long, String>> ackedAt = new HashMap<>();
    for (Ack ack : acks) {
      RoomHistory room = rooms.get(ack.room());
      String stored = room.messages().get(ack.seq());
      if (ack.key().equals(stored)) {
        ackedAt.computeIfAbsent(ack.room(), r -> new HashMap<>()).put(ack.seq(), ack.key());
        continue;
      }
      Loss loss = losses.stream().filter(l -> l.covers(ack.atMs())).findFirst().orElse(null);
      if (loss != null) {
        lostWithEpoch++;
        lostByFault.merge(loss.fault(), 1L, Long::sum);
        if (room.messages().containsValue(ack.key())) {
          storedAgain++; // a second copy, sent before the first was acked, landed in the new epoch
        }
        continue;
      }
      lost++;
      violation(
          "LOST: "
              + ack
              + " acked outside every data loss; history has "
              + stored
              + " at that seq");
    }
    Map<String, Map<Long, String>> agreed = new HashMap<>();
    for (ResumingChatClient c : clients) {
      RoomHistory room = rooms.get(c.room());
      Map<String, SortedMap<Long, String>> seen = c.receivedByEpoch();
      for (Map.Entry<String, SortedMap<Long, String>> epoch : seen.entrySet()) {
        Map<Long, String> all =
            agreed.computeIfAbsent(c.room() + "#" + epoch.getKey(), e -> new HashMap<>());
        epoch
            .getValue()
            .forEach(
                (seq, key) -> {
                  String other = all.putIfAbsent(seq, key);
                  if (other != null && !other.equals(key)) {
                    violation(
                        c.room()
                            + " epoch "
                            + epoch.getKey()
                            + " seq "
                            + seq
                            + ": one client got "
                            + other
                            + ", another "
                            + key);
                  }
                });
      }
      if (!room.epoch().equals(c.epoch())) {
        violation(c.user() + " ended in epoch " + c.epoch() + ", the room is in " + room.epoch());
        continue;
      }
      SortedMap<Long, String> mine = seen.get(c.epoch());
      for (long seq = Math.max(1, c.runStart()); seq <= room.head(); seq++) {
        String want = room.messages().get(seq);
        String got = mine.get(seq);
        if (!want.equals(got)) {
          lost++;
          violation(
              "MISSING: "
                  + c.user()
                  + " has "
                  + got
                  + " at seq "
                  + seq
                  + " of "
                  + c.room()
                  + ", history "
                  + want);
        }
      }
      if (!mine.isEmpty() && mine.lastKey() > room.head()) {
        violation(
            c.user()
                + " got seq "
                + mine.lastKey()
                + " past the head "
                + room.head()
                + " of "
                + c.room());
      }
    }
    return new Report(
        sum(clients, ResumingChatClient::sent),
        acks.size(),
        sum(clients, ResumingChatClient::delivered),
        sum(clients, ResumingChatClient::duplicates),
        lost,
        lostWithEpoch,
        Map.copyOf(lostByFault),
        storedAgain,
        sum(clients, ResumingChatClient::resets),
        sum(clients, ResumingChatClient::resends),
        Map.copyOf(closeCodes(clients)),
        Map.copyOf(errors(clients)),
        violationCount,
        List.copyOf(violations));
  }
}
