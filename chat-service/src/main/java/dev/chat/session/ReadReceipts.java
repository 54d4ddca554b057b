package dev.chat.session;

import dev.chat.broker.Broker;
import dev.chat.broker.Signal;
import dev.chat.protocol.ClientFrame;
import dev.chat.protocol.ErrorCode;
import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A connection's {@code read} frames (v1.1): moves the user's read position in the broker, tells
 * every member of the room (the user's other devices included), and for the user's own inbox maps
 * the receipt to each sender's copy of the direct messages it covers ("seen").
 *
 * <p>The cost of a receipt is the cost of a message: one broker write and one publish, whatever the
 * room's size. Only an inbox receipt does more: one "seen" script per distinct sender among the
 * newest {@value #SEEN_SCAN} messages it covers.
 */
final class ReadReceipts {

  static final int SEEN_SCAN = 100;

  private final Broker broker;
  private final Outbound out;
  private final String user;
  private final Predicate<String> joined;
  private final Function<Throwable, byte[]> brokerError;

  ReadReceipts(
      Broker broker,
      Outbound out,
      String user,
      Predicate<String> joined,
      Function<Throwable, byte[]> brokerError) {
    this.broker = broker;
    this.out = out;
    this.user = user;
    this.joined = joined;
    this.brokerError = brokerError;
  }

  void read(ClientFrame.Read r) {
    String room = r.room();
    if (!joined.test(room)) {
      out.send(
          ServerFrames.error(ErrorCode.NOT_JOINED, "join " + room + " before reading it", null));
      return;
    }
    broker
        .markRead(room, user, r.seq())
        .compose(
            at -> {
              if (at < 0) {
                return Future.succeededFuture(); // not forward: ignored
              }
              Future<Void> told = tell(room, user, at);
              return user.equals(Names.inboxOwner(room)) ? told.compose(v -> seen(room, at)) : told;
            })
        .onFailure(e -> out.send(brokerError.apply(e)));
  }

  private Future<Void> tell(String room, String reader, long seq) {
    byte[] frame = ServerFrames.read(room, reader, seq);
    return broker.signal(room, new Signal(Signal.Kind.READ, reader, frame));
  }

  /**
   * The newest direct message from each other sender up to {@code at} is now read: each sender's
   * inbox learns the seq of their own copy of it.
   */
  private Future<Void> seen(String inbox, long at) {
    return broker
        .history(inbox, at + 1, SEEN_SCAN)
        .compose(
            page -> {
              List<byte[]> frames = page.messages();
              Set<String> senders = new HashSet<>();
              Future<Void> chain = Future.succeededFuture();
              for (int i = frames.size() - 1; i >= 0; i--) {
                JsonObject m = new JsonObject(Buffer.buffer(frames.get(i)));
                String from = m.getString("from");
                if (from == null
                    || from.equals(user)
                    || m.containsKey("edits")
                    || m.containsKey("deletes")
                    || !senders.add(from)) {
                  continue;
                }
                String id = m.getString("id");
                chain =
                    chain.compose(
                        v ->
                            broker
                                .markSeen(from, user, id)
                                .compose(
                                    n ->
                                        n < 0
                                            ? Future.succeededFuture()
                                            : tell(Names.inboxOf(from), user, n)));
              }
              return chain;
            });
  }
}
