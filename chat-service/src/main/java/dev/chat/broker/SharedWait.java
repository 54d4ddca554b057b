package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.function.Function;

/**
 * The replica-ack {@code WAIT} of one Redis connection, shared by the writes sent on it: at most
 * one {@code WAIT} is in flight, and the writes sent while it blocks share the next one. A client
 * blocked in {@code WAIT} runs nothing else, so a {@code WAIT} per message would serialize the
 * connection on replica round trips.
 *
 * <p>{@code WAIT} counts the writes of the connection it runs on, so it must go down the very
 * connection that took the writes: one instance per connection, {@link #close closed} when its
 * connection is replaced. Confined to the event loop that owns the connection.
 */
final class SharedWait {

  private final int replicas;
  private final long timeoutMs;
  // Sends on the one connection this instance belongs to.
  private final Function<Request, Future<Response>> send;
  private boolean inFlight;
  private Promise<Void> next;
  private boolean closed;

  SharedWait(int replicas, long timeoutMs, Function<Request, Future<Response>> send) {
    this.replicas = replicas;
    this.timeoutMs = timeoutMs;
    this.send = send;
  }

  /**
   * Completes once a {@code WAIT} sent after this call confirms {@code replicas} replicas; fails
   * with {@link BrokerUnavailableException} when fewer confirm in time, the {@code WAIT} fails, or
   * the connection is replaced first. Call it right after writing on the connection: the {@code
   * WAIT} then covers that write.
   */
  Future<Void> afterWrites() {
    if (closed) {
      return Future.failedFuture(
          new BrokerUnavailableException("the Redis connection was replaced before its WAIT"));
    }
    if (next == null) {
      next = Promise.promise();
    }
    Future<Void> confirmed = next.future();
    if (!inFlight) {
      sendWait();
    }
    return confirmed;
  }

  /** The connection is gone or replaced: writers still waiting for a WAIT get unavailable. */
  void close() {
    closed = true;
    if (next != null) {
      next.tryFail(
          new BrokerUnavailableException("the Redis connection was replaced before its WAIT"));
      next = null;
    }
  }

  private void sendWait() {
    Promise<Void> group = next;
    next = null;
    inFlight = true;
    send.apply(Request.cmd(Command.WAIT).arg(replicas).arg(Long.toString(timeoutMs)))
        .onComplete(
            ar -> {
              if (ar.failed()) {
                // Also a Redis error ("WAIT cannot be used with replica instances" from a demoted
                // master): the writes' fate is unknown, so the sender retries.
                group.fail(
                    ar.cause() instanceof BrokerUnavailableException
                        ? ar.cause()
                        : new BrokerUnavailableException("Redis WAIT: " + ar.cause().getMessage()));
              } else if (ar.result().toInteger() < replicas) {
                group.fail(
                    new BrokerUnavailableException(
                        ar.result().toInteger()
                            + " of "
                            + replicas
                            + " Redis replicas confirmed within "
                            + timeoutMs
                            + " ms"));
              } else {
                group.complete();
              }
              inFlight = false;
              if (!closed && next != null) {
                sendWait();
              }
            });
  }
}
