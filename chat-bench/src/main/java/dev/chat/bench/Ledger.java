package dev.chat.bench;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * What was acknowledged to publishers, and what each member received: the loss and duplicate
 * accounting of the smoke and storm scenarios.
 *
 * <p>Loss means: a message acknowledged to its publisher that a member of its room did not get,
 * counted from the first message that member got from that publisher (a member joined before
 * publishing starts, so that is from the start). Our protocol is also checked by seq: a member's
 * seqs of a room must have no hole and reach the room's highest acknowledged seq.
 */
public final class Ledger {
  private final Map<Integer, BitSet> ackedByPublisher = new ConcurrentHashMap<>();
  private final Map<Integer, String> publisherRoom = new ConcurrentHashMap<>();
  private final Map<String, LongAccumulator> roomMaxAckedSeq = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Member> members = new ConcurrentLinkedQueue<>();
  public final LongAdder appDuplicates = new LongAdder();
  public final LongAdder rawDuplicates = new LongAdder();
  public final LongAdder retriedSends = new LongAdder();
  public final LongAdder serverDuplicateAcks = new LongAdder();

  /** Frames past a gap in a room's seqs, dropped while the client resumed (ours only). */
  public final LongAdder gapsResumed = new LongAdder();

  /** One member's receipts in one room; touched only on its client's event loop until the end. */
  public static final class Member {
    final String room;
    final Map<Integer, BitSet> got = new HashMap<>();
    final Map<Integer, Integer> firstCounter = new HashMap<>();
    long firstSeq = -1;
    long lastSeq = -1;
    long seqHoles;

    Member(String room) {
      this.room = room;
    }

    /** Returns false when (publisher, counter) was already delivered to this member. */
    boolean record(int publisher, int counter) {
      BitSet b = got.computeIfAbsent(publisher, p -> new BitSet());
      if (b.get(counter)) return false;
      b.set(counter);
      firstCounter.merge(publisher, counter, Math::min);
      return true;
    }

    void seq(long seq) {
      if (firstSeq < 0) firstSeq = seq;
      else if (seq > lastSeq + 1) seqHoles += seq - lastSeq - 1;
      lastSeq = Math.max(lastSeq, seq);
    }
  }

  public Member member(String room) {
    Member m = new Member(room);
    members.add(m);
    return m;
  }

  public void acked(int publisher, String room, int counter, long seq) {
    publisherRoom.put(publisher, room);
    BitSet b = ackedByPublisher.computeIfAbsent(publisher, p -> new BitSet());
    synchronized (b) {
      b.set(counter);
    }
    if (seq > 0)
      roomMaxAckedSeq.computeIfAbsent(room, r -> new LongAccumulator(Math::max, 0)).accumulate(seq);
  }

  public long ackedCount() {
    long n = 0;
    for (BitSet b : ackedByPublisher.values())
      synchronized (b) {
        n += b.cardinality();
      }
    return n;
  }

  /** The result of the end-of-run check, after every event loop has gone quiet. */
  public record Verdict(long members, long expected, long lostByCounter, long lostBySeq) {}

  public Verdict verify(boolean checkSeq) {
    long expected = 0, lost = 0, lostSeq = 0, n = 0;
    for (Member m : members) {
      n++;
      for (Map.Entry<Integer, BitSet> e : ackedByPublisher.entrySet()) {
        if (!m.room.equals(publisherRoom.get(e.getKey()))) continue;
        BitSet acked;
        synchronized (e.getValue()) {
          acked = (BitSet) e.getValue().clone();
        }
        Integer first = m.firstCounter.get(e.getKey());
        int from = first == null ? 0 : first;
        BitSet got = m.got.getOrDefault(e.getKey(), new BitSet());
        for (int c = acked.nextSetBit(from); c >= 0; c = acked.nextSetBit(c + 1)) {
          expected++;
          if (!got.get(c)) lost++;
        }
      }
      if (checkSeq) {
        lostSeq += m.seqHoles;
        LongAccumulator max = roomMaxAckedSeq.get(m.room);
        if (max != null && m.lastSeq >= 0 && max.get() > m.lastSeq)
          lostSeq += max.get() - m.lastSeq;
        if (max != null && m.lastSeq < 0) lostSeq += max.get();
      }
    }
    return new Verdict(n, expected, lost, lostSeq);
  }
}
