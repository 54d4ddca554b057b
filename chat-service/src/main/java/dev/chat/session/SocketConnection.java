package dev.chat.session;

import dev.chat.protocol.CloseCode;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
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
  private Session session;
  private MessageReader reader;
  private boolean closing;

  /**
   * {@code onClosed} runs once when the socket is gone, after the session released it. {@link
   * #writeQueueFull()} is true only once {@code maxWriteQueueBytes} wait to be written, not at
   * Vert.x's default, 64 KiB, which is less than one join's replay of 50 long messages: every
   * client joining such a room was closed with 4001 as a slow consumer before it could read.
   */
  public SocketConnection(
      ServerWebSocket ws, int maxMessageBytes, int maxWriteQueueBytes, Runnable onClosed) {
    this.ws = ws;
    this.maxMessageBytes = maxMessageBytes;
    this.maxWriteQueueBytes = maxWriteQueueBytes;
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
