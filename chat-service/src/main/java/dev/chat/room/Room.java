package dev.chat.room;

import io.vertx.core.Future;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One room as seen by one event loop: its local members, its position in the live stream, and the
 * live messages held back while a read of its history is in flight.
 */
final class Room {

  /** A live message held back while the room is busy. */
  @SuppressWarnings("ArrayRecordComponent") // the frame is passed on as is, never compared
  record Held(String epoch, long seq, byte[] frame) {}

  final String name;
  final Set<Member> members = new LinkedHashSet<>();
  final Set<Member> joining = new LinkedHashSet<>();
  final Map<String, Integer> localUsers = new HashMap<>();
  final ArrayDeque<Held> held = new ArrayDeque<>();
  // When each local user's last typing frame was forwarded (monotonic ms); entries leave with the
  // user's last local connection, so it is bounded by the room's local users.
  final Map<String, Long> typingAt = new HashMap<>();
  // Users online across the cluster, as the last snapshot or presence event said.
  int online;
  Future<Void> subscribed;
  String epoch;
  long seq;
  boolean initialized;
  int busy;
  boolean needsRepair;
  boolean needsReset;

  Room(String name) {
    this.name = name;
  }

  boolean empty() {
    return members.isEmpty() && joining.isEmpty();
  }

  /** Counts one more local connection of {@code user}; true when it is the first. */
  boolean addUser(String user) {
    return localUsers.merge(user, 1, Integer::sum) == 1;
  }

  /** Counts one fewer local connection of {@code user}; true when it was the last. */
  boolean removeUser(String user) {
    Integer n = localUsers.get(user);
    if (n == null || n <= 1) {
      localUsers.remove(user);
      typingAt.remove(user);
      return n != null;
    }
    localUsers.put(user, n - 1);
    return false;
  }
}
