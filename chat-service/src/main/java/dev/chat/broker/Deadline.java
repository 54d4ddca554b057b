package dev.chat.broker;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/**
 * Bounds a future in time with a Vert.x timer, so the outcome arrives on the caller's event loop.
 * {@code Future.timeout} on a future without a context fires on Netty's global executor instead,
 * which would run our room and session code on a foreign thread.
 */
final class Deadline {

  private Deadline() {}

  static <T> Future<T> within(Vertx vertx, Future<T> future, long timeoutMs, String what) {
    if (future.isComplete()) {
      return future;
    }
    Promise<T> result = Promise.promise();
    long timer =
        vertx.setTimer(
            timeoutMs,
            t ->
                result.tryFail(
                    new BrokerUnavailableException(
                        what + ": no answer within " + timeoutMs + " ms")));
    future.onComplete(
        ar -> {
          vertx.cancelTimer(timer);
          if (ar.succeeded()) {
            result.tryComplete(ar.result());
          } else {
            result.tryFail(ar.cause());
          }
        });
    return result.future();
  }
}
