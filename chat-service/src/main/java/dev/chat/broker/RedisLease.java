package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lease of one owner (an event loop of a node), shared by {@link RedisPresence} and {@link
 * RedisConnectionCounter}: renewed every third of its length, it lets the survivors find an owner
 * that died without a goodbye and reap what it held (its presences, then its slots). One survivor
 * reaps each dead owner: the one whose ZREM removes it.
 */
final class RedisLease {

  private static final Logger LOG = LoggerFactory.getLogger(RedisLease.class);
  private static final int REAP_BATCH = 16;

  private final Vertx vertx;
  private final RedisCommands commands;
  private final String owner;
  private final long leaseMs;
  private final List<Function<String, Future<Void>>> reapers;
  private final Runnable onLost;
  private long timer = -1;
  private boolean leased;

  /**
   * {@code reapers} each remove what an owner holds, in order; {@code onLost} runs when this
   * owner's lease was found missing after it had one.
   */
  RedisLease(
      Vertx vertx,
      RedisCommands commands,
      String owner,
      long leaseMs,
      List<Function<String, Future<Void>>> reapers,
      Runnable onLost) {
    this.vertx = vertx;
    this.commands = commands;
    this.owner = owner;
    this.leaseMs = leaseMs;
    this.reapers = reapers;
    this.onLost = onLost;
  }

  void start() {
    timer = vertx.setPeriodic(leaseMs / 3, t -> renew());
  }

  void stop() {
    vertx.cancelTimer(timer);
  }

  void renew() {
    commands
        .eval(
            RedisScript.LEASE,
            List.of(RedisKeys.OWNERS),
            List.of(owner, Long.toString(leaseMs), Integer.toString(REAP_BATCH)))
        .onSuccess(
            r -> {
              if (r.get(0).toInteger() == 1 && leased) {
                // The lease we had is gone: Redis lost its data or a peer reaped us after a pause.
                // (Our very first lease is missing by nature: nothing was missed.)
                onLost.run();
              }
              leased = true;
              r.get(1)
                  .forEach(
                      dead -> {
                        if (!dead.toString().equals(owner)) {
                          claimAndReap(dead.toString());
                        }
                      });
            });
  }

  private void claimAndReap(String dead) {
    commands
        .send(Request.cmd(Command.ZREM).arg(RedisKeys.OWNERS).arg(dead))
        .onSuccess(
            r -> {
              if (r.toInteger() == 1) {
                LOG.info("lease of {} ran out, announcing its leaves", dead);
                reap(dead);
              }
            });
  }

  /** Removes everything {@code who} holds, then its lease. */
  Future<Void> reap(String who) {
    Future<Void> chain = Future.succeededFuture();
    for (Function<String, Future<Void>> reaper : reapers) {
      chain = chain.compose(v -> reaper.apply(who));
    }
    return chain
        .compose(v -> commands.send(Request.cmd(Command.ZREM).arg(RedisKeys.OWNERS).arg(who)))
        .mapEmpty();
  }
}
