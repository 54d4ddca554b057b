package dev.chat.chaos;

import dev.chat.testing.RedisCluster;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Rooms of the chaos tests on a Redis Cluster: placed on every master, and read back for a ledger.
 */
final class ClusterRooms {

  private ClusterRooms() {}

  /** The slot of a room's keys, as Redis computes it ({@code CLUSTER KEYSLOT} of its hash tag). */
  static int slot(RedisCluster redis, String room) {
    try (RespClient c = redis.masters().get(0).client()) {
      return ((Long) c.call("CLUSTER", "KEYSLOT", "{" + room + "}")).intValue();
    }
  }

  /** The master that now serves {@code room}. */
  static RedisServer masterOf(RedisCluster redis, String room) {
    return redis.masterOf(slot(redis, room));
  }

  /**
   * {@code perMaster} rooms on each of the masters, named {@code prefix-<n>}; the first is on the
   * master that serves the lowest slot.
   */
  static List<String> onEveryMaster(RedisCluster redis, String prefix, int perMaster) {
    Map<Integer, List<String>> byMaster = new TreeMap<>();
    List<RedisServer> masters = redis.masters();
    masters.forEach(m -> byMaster.put(m.port(), new ArrayList<>()));
    for (int n = 0; byMaster.values().stream().anyMatch(l -> l.size() < perMaster); n++) {
      String room = prefix + "-" + n;
      List<String> there = byMaster.get(masterOf(redis, room).port());
      if (there.size() < perMaster) {
        there.add(room);
      }
    }
    // Round robin over the masters, so room i % masters lands on master i % masters.
    List<String> rooms = new ArrayList<>();
    for (int i = 0; i < perMaster; i++) {
      for (List<String> there : byMaster.values()) {
        rooms.add(there.get(i));
      }
    }
    return rooms;
  }

  /** The rooms as the masters that now serve them hold them. */
  static Map<String, Ledger.RoomHistory> read(RedisCluster redis, Collection<String> rooms) {
    Map<String, Ledger.RoomHistory> histories = new LinkedHashMap<>();
    for (String room : rooms) {
      try (RespClient resp = masterOf(redis, room).client()) {
        String epoch = (String) resp.call("GET", "chat:{" + room + "}:epoch");
        Object seq = resp.call("GET", "chat:{" + room + "}:seq");
        TreeMap<Long, String> messages = new TreeMap<>();
        for (Object entry : (List<?>) resp.call("LRANGE", "chat:{" + room + "}:hist", "0", "-1")) {
          JsonObject m = new JsonObject((String) entry);
          messages.put(m.getLong("seq"), m.getString("from") + "/" + m.getString("id"));
        }
        histories.put(
            room,
            new Ledger.RoomHistory(
                room,
                String.valueOf(epoch),
                seq == null ? 0 : Long.parseLong((String) seq),
                messages));
      }
    }
    return histories;
  }
}
