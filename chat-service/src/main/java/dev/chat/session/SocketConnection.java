package dev.chat.session;

import dev.chat.protocol.CloseCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpObjectEncoder;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionEncoder;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import io.vertx.core.internal.http.WebSocketInternal;
import io.vertx.core.net.impl.VertxConnection;
import io.vertx.core.net.impl.VertxHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts a server WebSocket to a {@link Session}: feeds it whole text messages (a {@link
 * MessageReader} enforces the size limit and UTF-8 and refuses binary frames), and writes the
 * session's frames.
 */
public final class SocketConnection implements Outbound {

  private static final Logger LOG = LoggerFactory.getLogger(SocketConnection.class);
  private static final Buffer EMPTY = Buffer.buffer();

  private final ServerWebSocket ws;
  private final int maxMessageBytes;
  private final int maxWriteQueueBytes;
  private final Runnable onClosed;
  private final SharedFrames shared;
  // The Vert.x connection under the socket, once its pipeline takes raw frames (see sendShared);
  // rawNever once it is known that it never will.
  private VertxConnection wire;
  private boolean rawNever;
  private Session session;
  private MessageReader reader;
  private boolean closing;

  /**
   * {@code onClosed} runs once when the socket is gone, after the session released it. {@link
   * #writeQueueFull()} is true only once {@code maxWriteQueueBytes} wait to be written, not at
   * Vert.x's default, 64 KiB, which is less than one join's replay of 50 long messages: every
   * client joining such a room was closed with 4001 as a slow consumer before it could read. {@code
   * shared} is the event loop's encoder of fanned-out frames.
   */
  public SocketConnection(
      ServerWebSocket ws,
      int maxMessageBytes,
      int maxWriteQueueBytes,
      SharedFrames shared,
      Runnable onClosed) {
    this.ws = ws;
    this.maxMessageBytes = maxMessageBytes;
    this.maxWriteQueueBytes = maxWriteQueueBytes;
    this.shared = shared;
    this.onClosed = onClosed;
  }

  /** Starts feeding {@code session} with this socket's traffic. */
  public void attach(Session session) {
    this.session = session;
    this.reader =
        new MessageReader(
            maxMessageBytes,
            false,
            new MessageReader.Handler() {
              @Override
              public void text(String message) {
                session.onText(message);
              }

              @Override
              public void binary(Buffer message) {
                session.close(
                    CloseCode.BINARY); // not reached: this reader refuses binary frames itself
              }

              @Override
              public void refuse(CloseCode code) {
                session.close(code);
              }
            });
    try {
      ws.setWriteQueueMaxSize(maxWriteQueueBytes);
      FlushBatching.install(ws);
      ws.frameHandler(this::onFrame);
      ws.exceptionHandler(this::onError);
      ws.closeHandler(
          v -> {
            session.onClosed();
            onClosed.run();
          });
      ws.shutdownHandler(v -> session.close(CloseCode.SHUTTING_DOWN));
    } catch (IllegalStateException closedAlready) {
      // The client went away between the upgrade and here: no close handler will ever run.
      closing = true;
      session.onClosed();
      onClosed.run();
      return;
    }
    session.start();
  }

  @Override
  public void send(byte[] frame) {
    if (!closing) {
      // The frame bytes are shared by every recipient; wrapping gives each write its own indices.
      ws.writeFrame(
          new WebSocketFrameImpl(WebSocketFrameType.TEXT, Unpooled.wrappedBuffer(frame), true));
    }
  }

  /**
   * Writes the frame encoded once per event loop ({@link SharedFrames}) as a raw buffer, through
   * the same outbound queue of the Vert.x connection that {@code writeFrame}, pings and the close
   * frame go through: the socket's frames keep their order, and {@code writeQueueFull()}, the water
   * marks and Vert.x's bytes-written count see the whole frame. Netty's frame encoder passes a
   * buffer that is not a frame through untouched.
   */
  @Override
  public void sendShared(byte[] frame) {
    if (closing) {
      return;
    }
    if (wire == null && (rawNever || (wire = rawFrameWire()) == null)) {
      send(frame);
    } else if (!ws.isClosed()) { // what writeFrame checks: no data after a close frame
      wire.writeToChannel(shared.frameOf(frame));
    }
  }

  /**
   * The Vert.x connection to write raw frames to, or null while the pipeline cannot take them:
   * until the handshake's response is written, the HTTP encoder is still in the pipeline and would
   * take a raw buffer for a body; an extension's encoder (compression) would be bypassed; an old
   * protocol version frames differently. Only the first of these passes: it is asked again on the
   * next write.
   */
  private VertxConnection rawFrameWire() {
    if (!(ws instanceof WebSocketInternal internal)) {
      rawNever = true;
      return null;
    }
    ChannelHandlerContext ctx = internal.channelHandlerContext();
    ChannelPipeline pipeline = ctx.pipeline();
    if (pipeline.get(HttpObjectEncoder.class) != null
        || pipeline.get(HttpServerCodec.class) != null) {
      return null;
    }
    if (pipeline.get(WebSocket08FrameEncoder.class) == null
        || pipeline.get(WebSocketExtensionEncoder.class) != null
        || !(ctx.handler() instanceof VertxHandler<?> handler)) {
      rawNever = true;
      return null;
    }
    return handler.getConnection();
  }

  /** Whether shared frames go out pre-encoded yet (for tests). */
  boolean writesRawFrames() {
    return wire != null;
  }

  @Override
  public void ping() {
    if (!closing) {
      ws.writePing(EMPTY);
    }
  }

  @Override
  public void close(CloseCode code) {
    if (!closing) {
      closing = true;
      ws.close(code.code(), code.reason());
    }
  }

  @Override
  public boolean writeQueueFull() {
    try {
      return !closing && ws.writeQueueFull();
    } catch (IllegalStateException closedAlready) {
      // Vert.x throws here once the socket closed; the close handler is on its way.
      return false;
    }
  }

  private void onFrame(WebSocketFrame frame) {
    session.onFrame();
    if (!closing) {
      reader.onFrame(frame);
    }
  }

  private void onError(Throwable e) {
    CloseCode code = MessageReader.closeCodeOf(e);
    if (code != null) {
      session.close(code);
      return;
    }
    LOG.debug("socket error on {}: {}", session.connId(), e.toString());
  }
}
