package dev.chat.broker;

/**
 * Names of the Redis keys and channels. Every key of a room carries the room in a hash tag, so
 * Redis Cluster keeps a room's keys in one slot and its scripts stay single-slot.
 */
final class RedisKeys {

  static final String OWNERS = "chat:owners";

  private RedisKeys() {}

  static String seq(String room) {
    return "chat:{" + room + "}:seq";
  }

  static String history(String room) {
    return "chat:{" + room + "}:hist";
  }

  static String epoch(String room) {
    return "chat:{" + room + "}:epoch";
  }

  /**
   * The identity of the Redis dataset ({@code run_id:master_replid}) under which the room's stream
   * was last touched; another identity means the data may have been rolled back.
   */
  static String dataset(String room) {
    return "chat:{" + room + "}:dataset";
  }

  /** A room's read positions (v1.1): a hash of user → the seq they read up to. */
  static String reads(String room) {
    return "chat:{" + room + "}:read";
  }

  static String users(String room) {
    return "chat:{" + room + "}:users";
  }

  static String presence(String room, String owner) {
    return "chat:{" + room + "}:pres:" + owner;
  }

  static String dedup(String room, String user, String id) {
    return "chat:{" + room + "}:dedup:" + user + ":" + id;
  }

  static String channel(String room) {
    return "chat:{" + room + "}:ch";
  }

  /** The room a channel belongs to, or null for another channel. */
  static String roomOfChannel(String channel) {
    if (channel.startsWith("chat:{") && channel.endsWith("}:ch")) {
      return channel.substring(6, channel.length() - 4);
    }
    return null;
  }

  static String ownerRooms(String owner) {
    return "chat:owner:{" + owner + "}:rooms";
  }

  /** A slot counter: a hash of owner → slots that owner holds. */
  static String slots(String key) {
    return "chat:slots:{" + key + "}";
  }

  /** The slot keys an owner holds slots of, for reaping them with its presence. */
  static String ownerSlots(String owner) {
    return "chat:owner:{" + owner + "}:slots";
  }

  /** Every broker listens here for requests to close a user's connections. */
  static final String DISCONNECT = "chat:disconnect";

  /** Where a broker hears the answers to its own disconnect requests. */
  static String replies(String owner) {
    return "chat:replies:" + owner;
  }

  static String probe(String owner) {
    return "chat:probe:" + owner;
  }
}
