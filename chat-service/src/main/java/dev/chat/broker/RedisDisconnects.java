package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Request;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.ToIntFunction;

/**
 * Disconnect requests between the Redis brokers of a cluster, over pub/sub: every broker listens on
 * {@link RedisKeys#DISCONNECT}, closes its loop's connections of the user named there, and answers
 * on the asker's own reply channel with how many it closed.
 *
 * <p>PUBLISH answers with the number of subscribers it reached, which is the number of answers to
 * wait for. Redis pub/sub is at-most-once: a broker whose subscriber connection is down at that
 * moment is neither reached nor counted, and a reached broker that cannot answer in time leaves the
 * result incomplete.
 */
final class RedisDisconnects {

  private final Vertx vertx;
  private final RedisCommands commands;
  private final String replyChannel;
  private final long timeoutMs;
  // Random per broker, so that answers meant for an earlier process under the same owner name
  // never count.
  private final String prefix = UUID.randomUUID().toString().substring(0, 8) + "-";
  private final Map<String, Pending> pending = new HashMap<>();
  private ToIntFunction<String> closer = user -> 0;
  private long next;

  RedisDisconnects(Vertx vertx, RedisCommands commands, String owner, long timeoutMs) {
    this.vertx = vertx;
    this.commands = commands;
    this.replyChannel = RedisKeys.replies(owner);
    this.timeoutMs = timeoutMs;
  }

  /** The channels this broker's subscriber must hold. */
  List<String> channels() {
    return List.of(RedisKeys.DISCONNECT, replyChannel);
  }

  void closer(ToIntFunction<String> closer) {
    this.closer = closer;
  }

  Future<Disconnected> request(String user) {
    String id = prefix + next++;
    Pending p = new Pending();
    pending.put(id, p);
    p.timer = vertx.setTimer(timeoutMs, t -> finish(id));
    commands
        .send(
            Request.cmd(commands.publishCommand())
                .arg(RedisKeys.DISCONNECT)
                .arg(id + "|" + user + "|" + replyChannel))
        .onSuccess(
            reached -> {
              p.expected = reached.toInteger();
              if (p.answers >= p.expected) {
                finish(id);
              }
            })
        .onFailure(
            e -> {
              if (pending.remove(id) != null) {
                vertx.cancelTimer(p.timer);
                p.result.fail(e);
              }
            });
    return p.result.future();
  }

  /** Handles a push of one of {@link #channels()}; false for any other channel. */
  boolean onPush(String channel, byte[] payload) {
    if (RedisKeys.DISCONNECT.equals(channel)) {
      onRequest(new String(payload, StandardCharsets.UTF_8));
      return true;
    }
    if (replyChannel.equals(channel)) {
      onAnswer(new String(payload, StandardCharsets.UTF_8));
      return true;
    }
    return false;
  }

  /** Completes what is still waiting with what has arrived so far; cancels the timers. */
  void close() {
    for (String id : List.copyOf(pending.keySet())) {
      finish(id);
    }
  }

  // "<id>|<user>|<reply channel>": ids and user ids hold no '|'; the channel may.
  private void onRequest(String request) {
    int a = request.indexOf('|');
    int b = a < 0 ? -1 : request.indexOf('|', a + 1);
    if (b < 0) {
      return;
    }
    int closed = closer.applyAsInt(request.substring(a + 1, b));
    commands.send(
        Request.cmd(commands.publishCommand())
            .arg(request.substring(b + 1))
            .arg(request.substring(0, a) + "|" + closed));
  }

  // "<id>|<closed>"
  private void onAnswer(String answer) {
    int a = answer.indexOf('|');
    Pending p = a < 0 ? null : pending.get(answer.substring(0, a));
    if (p == null) {
      return; // late: the request already timed out
    }
    try {
      p.closed += Integer.parseInt(answer.substring(a + 1));
    } catch (NumberFormatException e) {
      return;
    }
    p.answers++;
    if (p.expected >= 0 && p.answers >= p.expected) {
      finish(answer.substring(0, a));
    }
  }

  private void finish(String id) {
    Pending p = pending.remove(id);
    if (p == null) {
      return;
    }
    vertx.cancelTimer(p.timer);
    if (p.expected < 0) {
      // PUBLISH never answered: whether anyone was asked at all is unknown.
      p.result.fail(new BrokerUnavailableException("Redis did not answer the disconnect request"));
      return;
    }
    p.result.complete(new Disconnected(p.closed, p.answers >= p.expected));
  }

  /** One request waiting for its answers; {@code expected} is -1 until PUBLISH has answered. */
  private static final class Pending {
    final Promise<Disconnected> result = Promise.promise();
    long timer;
    int expected = -1;
    int answers;
    int closed;
  }
}
