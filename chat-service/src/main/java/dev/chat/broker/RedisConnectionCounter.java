package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Connection slots in Redis: a hash per key counting each owner's slots, and per owner the list of
 * keys it holds, which is what {@link RedisLease} gives back when the owner's lease runs out.
 */
final class RedisConnectionCounter implements ConnectionCounter {

  private final RedisCommands commands;
  private final String owner;
  // Slots this owner holds or is taking, by key: the owner's slot list in Redis drops a key when
  // its count here reaches zero, decided here so it goes out in order with any later SADD.
  private final Map<String, Integer> slots = new HashMap<>();

  RedisConnectionCounter(RedisCommands commands, String owner) {
    this.commands = commands;
    this.owner = owner;
  }

  @Override
  public Future<Boolean> acquire(String key, int max) {
    if (slots.merge(key, 1, Integer::sum) == 1) {
      // Recorded before the slot itself, so a reaper finds every slot it must give back.
      commands.send(Request.cmd(Command.SADD).arg(RedisKeys.ownerSlots(owner)).arg(key));
    }
    return commands
        .eval(
            RedisScript.ACQUIRE,
            List.of(RedisKeys.slots(key)),
            List.of(owner, Integer.toString(max)))
        .map(r -> r.toInteger() == 1)
        .andThen(
            ar -> {
              if (ar.failed() || !ar.result()) {
                forget(key);
              }
            });
  }

  /**
   * Gives a slot back. If this owner's lease was lost while it lived (a long pause, Redis losing
   * its data), its slots were reaped and are not counted again: its connections count for nothing
   * until they close, and their releases only remove an already missing count. The limits are
   * lenient for a while rather than refusing users who hold no connection.
   */
  @Override
  public Future<Void> release(String key) {
    if (!slots.containsKey(key)) {
      return Future.succeededFuture();
    }
    Future<Void> released =
        commands
            .eval(RedisScript.RELEASE, List.of(RedisKeys.slots(key)), List.of(owner))
            .mapEmpty();
    forget(key);
    return released;
  }

  private void forget(String key) {
    if (slots.merge(key, -1, Integer::sum) <= 0) {
      slots.remove(key);
      commands.send(Request.cmd(Command.SREM).arg(RedisKeys.ownerSlots(owner)).arg(key));
    }
  }

  /** The backend is closing: what is held is given back by the reap of this owner. */
  void clear() {
    slots.clear();
  }

  /** Gives back every slot {@code who} holds and removes its slot list. */
  Future<Void> reap(String who) {
    return commands
        .send(Request.cmd(Command.SMEMBERS).arg(RedisKeys.ownerSlots(who)))
        .compose(
            keys -> {
              List<Future<Response>> freed = new ArrayList<>();
              keys.forEach(
                  key ->
                      freed.add(
                          commands.send(
                              Request.cmd(Command.HDEL)
                                  .arg(RedisKeys.slots(key.toString()))
                                  .arg(who))));
              return Future.all(freed);
            })
        .compose(v -> commands.send(Request.cmd(Command.DEL).arg(RedisKeys.ownerSlots(who))))
        .mapEmpty();
  }
}
