package dev.chat.session;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.internal.http.WebSocketInternal;

/**
 * Makes a socket's writes flush once per turn of its event loop instead of once per frame.
 *
 * <p>Vert.x flushes every frame written outside the socket's own read, so a room's fan-out paid a
 * flush, and mostly a {@code write(2)}, per recipient per message. Netty's {@link
 * FlushConsolidationHandler} at the head of the pipeline defers those flushes to a task that runs
 * after the current one: messages fanned out back to back (a busy room, a batch read from Redis)
 * leave in one write per socket. Writes still enter Netty's outbound buffer at once, so its water
 * marks, and with them {@code writeQueueFull()} and the slow-consumer close, count them.
 *
 * <p>The pipeline is reached through {@link WebSocketInternal}, Vert.x's internal (but public and
 * documented as such) interface for this; a socket that is not one stays as it was.
 */
public final class FlushBatching {

  /** After this many deferred flushes in one turn, one is done at once, bounding what waits. */
  static final int FLUSH_AFTER = 64;

  static final String NAME = "chat-flush-batching";

  private FlushBatching() {}

  /** Installs the batching on {@code ws}'s pipeline. */
  public static void install(ServerWebSocket ws) {
    if (ws instanceof WebSocketInternal internal) {
      install(internal.channelHandlerContext().pipeline());
    }
  }

  static void install(ChannelPipeline pipeline) {
    if (pipeline.get(NAME) == null) {
      pipeline.addFirst(NAME, new FlushConsolidationHandler(FLUSH_AFTER, true));
    }
  }
}
