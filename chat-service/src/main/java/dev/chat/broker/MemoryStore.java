package dev.chat.broker;

import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The embedded broker's data, shared by the node's event loops: history, seq, epochs, dedup ids,
 * presence and slots, kept in memory for a single node.
 *
 * <p>This is the one piece of state shared across event loops, so its methods are synchronized;
 * each call is short and never blocks on I/O. Live delivery is handed to each subscriber's own
 * event loop by {@link MemoryBroker}.
 */
public final class MemoryStore {

  private final int historyMax;
  private final long dedupWindowMs;
  private final LongSupplier clock;
  private final Map<String, RoomData> rooms = new HashMap<>();
  // Insertion order is expiry order (one fixed window), so expired ids are swept from the head.
  private final LinkedHashMap<String, DedupEntry> dedup = new LinkedHashMap<>();
  private final Map<String, List<MemoryBroker>> subscribers = new HashMap<>();
  // Started and not closed: the brokers a disconnect reaches.
  private final List<MemoryBroker> started = new ArrayList<>();
  // Slots held, by key in total and by owner, so that a closing broker gives back its own.
  private final Map<String, Integer> slots = new HashMap<>();
  private final Map<Object, Map<String, Integer>> slotsByOwner = new HashMap<>();
  private final String epoch = Epochs.next();

  public MemoryStore(int historyMax, long dedupWindowMs, LongSupplier clock) {
    this.historyMax = historyMax;
    this.dedupWindowMs = dedupWindowMs;
    this.clock = clock;
  }

  /** Stores a message; throws {@link ChangeRefusedException} for a change the target refuses. */
  synchronized Stored publish(Draft d) {
    long now = clock.getAsLong();
    sweepDedup(now);
    String key = d.room() + '\u0000' + d.from() + '\u0000' + d.id();
    DedupEntry seen = dedup.get(key);
    if (seen != null) {
      return new Stored(d.room(), seen.seq, seen.ts, true);
    }
    RoomData room = room(d.room());
    Draft.Change change = d.change();
    if (change != null) {
      check(room, d.from(), change);
    }
    long seq = ++room.seq;
    byte[] frame =
        ServerFrames.message(
            d.room(),
            seq,
            d.id(),
            d.from(),
            change == null ? null : change.field(),
            change == null ? 0 : change.target(),
            d.text(),
            d.to(),
            now);
    room.history.addLast(new Entry(frame, d.from(), d.id(), change != null));
    if (change != null && change.delete()) {
      room.deleted.add(change.target());
    }
    if (room.history.size() > historyMax) {
      room.history.removeFirst();
      room.deleted.remove(room.seq - historyMax);
    }
    dedup.put(key, new DedupEntry(seq, now, now + dedupWindowMs));
    for (MemoryBroker b : subscribers.getOrDefault(d.room(), List.of())) {
      b.deliverMessage(d.room(), epoch, seq, frame);
    }
    return new Stored(d.room(), seq, now, false);
  }

  /**
   * The target of a change must be a stored plain message of its author (or anyone's), and an
   * edit's target one that was not deleted.
   */
  private static void check(RoomData room, String user, Draft.Change change) {
    long first = room.seq - room.history.size() + 1;
    long target = change.target();
    if (target < first || target > room.seq) {
      throw ChangeRefusedException.noSuchMessage(target);
    }
    Entry e = room.entry(target - first);
    if (e.change) {
      throw ChangeRefusedException.notAMessage(target);
    }
    if (!change.delete() && room.deleted.contains(target)) {
      throw ChangeRefusedException.deleted(target);
    }
    if (!change.anyAuthor() && !e.from.equals(user)) {
      throw ChangeRefusedException.notYours(target, change.delete());
    }
  }

  synchronized long markRead(String roomName, String user, long seq) {
    RoomData room = room(roomName);
    return room.advance(user, Math.min(seq, room.seq));
  }

  /** Finds {@code sender}'s own copy of its message {@code id} and moves the reader there. */
  synchronized long markSeen(String sender, String reader, String id) {
    RoomData inbox = room(Names.inboxOf(sender));
    long s = inbox.seq;
    for (Iterator<Entry> it = inbox.history.descendingIterator(); it.hasNext(); s--) {
      Entry e = it.next();
      if (!e.change && e.from.equals(sender) && e.id.equals(id)) {
        return inbox.advance(reader, s);
      }
    }
    return -1;
  }

  synchronized void signal(String room, Signal signal) {
    for (MemoryBroker b : subscribers.getOrDefault(room, List.of())) {
      b.deliverSignal(room, signal);
    }
  }

  synchronized Snapshot join(
      String roomName, String user, Object owner, ReadRequest req, boolean silent, int usersMax) {
    RoomData room = room(roomName);
    if (user != null && room.addPresence(owner, user) && !silent) {
      announce(roomName, "join", user, room.online.size());
    }
    long first = room.seq - room.history.size() + 1;
    boolean recovered =
        req.wantsRecovery()
            && epoch.equals(req.epoch())
            && req.since() <= room.seq
            && req.since() + 1 >= first;
    long from = recovered ? req.since() + 1 : Math.max(first, room.seq - req.limit() + 1);
    List<byte[]> messages = new ArrayList<>();
    long s = first;
    for (Entry e : room.history) {
      if (s >= from) {
        messages.add(e.frame);
      }
      s++;
    }
    List<String> users = new ArrayList<>();
    for (String u : room.online.keySet()) {
      if (users.size() == usersMax) {
        break;
      }
      users.add(u);
    }
    return new Snapshot(
        epoch,
        room.seq,
        messages,
        recovered,
        room.online.size(),
        users,
        users.size() < room.online.size(),
        room.readsOf(roomName, users, user, usersMax));
  }

  synchronized Page history(String roomName, Long before, int limit) {
    RoomData room = room(roomName);
    long first = room.seq - room.history.size() + 1;
    long top = before == null ? room.seq : Math.min(room.seq, before - 1);
    long bottom = Math.max(first, top - limit + 1);
    List<byte[]> messages = new ArrayList<>();
    long s = first;
    for (Entry e : room.history) {
      if (s > top) {
        break;
      }
      if (s >= bottom) {
        messages.add(e.frame);
      }
      s++;
    }
    return new Page(epoch, messages, !messages.isEmpty() && bottom > first);
  }

  synchronized void started(MemoryBroker broker) {
    if (!started.contains(broker)) {
      started.add(broker);
    }
  }

  synchronized void closed(MemoryBroker broker) {
    started.remove(broker);
  }

  /** The brokers a disconnect reaches now. */
  synchronized List<MemoryBroker> started() {
    return List.copyOf(started);
  }

  synchronized void leave(String roomName, String user, Object owner) {
    RoomData room = rooms.get(roomName);
    if (room != null && room.removePresence(owner, user)) {
      announce(roomName, "leave", user, room.online.size());
    }
  }

  synchronized boolean acquire(String key, int max, Object owner) {
    if (slots.getOrDefault(key, 0) >= max) {
      return false;
    }
    slots.merge(key, 1, Integer::sum);
    slotsByOwner.computeIfAbsent(owner, o -> new HashMap<>()).merge(key, 1, Integer::sum);
    return true;
  }

  synchronized void release(String key, Object owner) {
    Map<String, Integer> held = slotsByOwner.get(owner);
    if (held == null || !held.containsKey(key)) {
      return;
    }
    if (held.merge(key, -1, Integer::sum) <= 0) {
      held.remove(key);
      if (held.isEmpty()) {
        slotsByOwner.remove(owner);
      }
    }
    if (slots.merge(key, -1, Integer::sum) <= 0) {
      slots.remove(key);
    }
  }

  /**
   * Removes every presence held by {@code owner}, announcing the leaves, and gives back its slots.
   */
  synchronized void leaveAll(Object owner) {
    Map<String, Integer> held = slotsByOwner.remove(owner);
    if (held != null) {
      held.forEach(
          (key, n) -> {
            if (slots.merge(key, -n, Integer::sum) <= 0) {
              slots.remove(key);
            }
          });
    }
    for (Map.Entry<String, RoomData> e : rooms.entrySet()) {
      Set<String> users = e.getValue().byOwner.get(owner);
      if (users == null) {
        continue;
      }
      for (String user : List.copyOf(users)) {
        leave(e.getKey(), user, owner);
      }
    }
  }

  synchronized void subscribe(String room, MemoryBroker broker) {
    List<MemoryBroker> list = subscribers.computeIfAbsent(room, r -> new ArrayList<>());
    if (!list.contains(broker)) {
      list.add(broker);
    }
  }

  synchronized void unsubscribe(String room, MemoryBroker broker) {
    List<MemoryBroker> list = subscribers.get(room);
    if (list != null && list.remove(broker) && list.isEmpty()) {
      subscribers.remove(room);
    }
  }

  private void announce(String room, String event, String user, int online) {
    for (MemoryBroker b : subscribers.getOrDefault(room, List.of())) {
      b.deliverPresence(room, event, user, online);
    }
  }

  private RoomData room(String name) {
    return rooms.computeIfAbsent(name, n -> new RoomData());
  }

  private void sweepDedup(long now) {
    Iterator<DedupEntry> it = dedup.values().iterator();
    while (it.hasNext() && it.next().expiresAt <= now) {
      it.remove();
    }
  }

  private record DedupEntry(long seq, long ts, long expiresAt) {}

  /** A stored frame and what edits, deletes and "seen" check it against. */
  @SuppressWarnings("ArrayRecordComponent") // the frame is passed on as is, never compared
  private record Entry(byte[] frame, String from, String id, boolean change) {}

  /** One room: its seq, capped history, read positions and who is present through which broker. */
  private static final class RoomData {
    long seq;
    final ArrayDeque<Entry> history = new ArrayDeque<>();
    final Map<String, Long> reads = new HashMap<>();
    // The stored messages a delete names: at most one entry per stored delete.
    final Set<Long> deleted = new java.util.HashSet<>();

    Entry entry(long index) {
      Iterator<Entry> it = history.iterator();
      for (long i = 0; i < index; i++) {
        it.next();
      }
      return it.next();
    }

    /** Moves a read position forward; the new position, or -1 when it did not move. */
    long advance(String user, long to) {
      if (to <= reads.getOrDefault(user, 0L)) {
        return -1;
      }
      reads.put(user, to);
      return to;
    }

    /**
     * The read positions a joined frame carries: of the listed users and {@code joiner}; of an
     * inbox, every position kept in it (its owner's and its peers' "seen") while there are at most
     * {@code max} of them, else none (as reads.lua does).
     */
    Map<String, Long> readsOf(String name, List<String> users, String joiner, int max) {
      Map<String, Long> out = new LinkedHashMap<>();
      if (Names.isInbox(name)) {
        if (reads.size() <= max) {
          out.putAll(reads);
        }
        return out;
      }
      for (String u : users) {
        Long at = reads.get(u);
        if (at != null) {
          out.put(u, at);
        }
      }
      if (joiner != null && reads.containsKey(joiner)) {
        out.put(joiner, reads.get(joiner));
      }
      return out;
    }

    final Map<String, Integer> online = new LinkedHashMap<>();
    final Map<Object, Set<String>> byOwner = new HashMap<>();

    /** Returns true when this is the user's first presence in the room. */
    boolean addPresence(Object owner, String user) {
      if (!byOwner.computeIfAbsent(owner, o -> new java.util.HashSet<>()).add(user)) {
        return false;
      }
      return online.merge(user, 1, Integer::sum) == 1;
    }

    /** Returns true when this was the user's last presence in the room. */
    boolean removePresence(Object owner, String user) {
      Set<String> users = byOwner.get(owner);
      if (users == null || !users.remove(user)) {
        return false;
      }
      if (users.isEmpty()) {
        byOwner.remove(owner);
      }
      int left = online.merge(user, -1, Integer::sum);
      if (left <= 0) {
        online.remove(user);
        return true;
      }
      return false;
    }
  }
}
