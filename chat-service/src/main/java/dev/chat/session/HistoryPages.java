package dev.chat.session;

import dev.chat.broker.Broker;
import dev.chat.protocol.ClientFrame;
import dev.chat.protocol.ErrorCode;
import dev.chat.protocol.ServerFrames;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Answers a connection's {@code history} frames (v1.1) from stored history. The answer is one frame
 * written as it is: its messages are not tracked by delivery acks and never redelivered.
 */
final class HistoryPages {

  private final Broker broker;
  private final Outbound out;
  private final Predicate<String> joined;
  private final BooleanSupplier closed;
  private final Function<Throwable, byte[]> brokerError;

  HistoryPages(
      Broker broker,
      Outbound out,
      Predicate<String> joined,
      BooleanSupplier closed,
      Function<Throwable, byte[]> brokerError) {
    this.broker = broker;
    this.out = out;
    this.joined = joined;
    this.closed = closed;
    this.brokerError = brokerError;
  }

  void request(ClientFrame.History h) {
    if (!joined.test(h.room())) {
      out.send(
          ServerFrames.error(
              ErrorCode.NOT_JOINED, "join " + h.room() + " before reading its history", null));
      return;
    }
    broker
        .history(h.room(), h.before(), h.limit())
        .onComplete(
            ar -> {
              if (closed.getAsBoolean()) {
                return;
              }
              out.send(
                  ar.succeeded()
                      ? ServerFrames.history(
                          h.room(),
                          ar.result().epoch(),
                          h.before(),
                          ar.result().messages(),
                          ar.result().more())
                      : brokerError.apply(ar.cause()));
            });
  }
}
