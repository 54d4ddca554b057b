package dev.chat.session;

import dev.chat.protocol.CloseCode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts a server WebSocket to a {@link Session}: reassembles text messages, enforces the size
 * limit and UTF-8, refuses binary frames, and writes the session's frames.
 *
 * <p>Vert.x neither closes a socket whose message exceeds the size limit (it only calls the
 * exception handler) nor rejects invalid UTF-8, so both closes (1009, 1007) are made here.
 */
public final class SocketConnection implements Outbound {

  private static final Logger LOG = LoggerFactory.getLogger(SocketConnection.class);
  private static final Buffer EMPTY = Buffer.buffer();

  private final ServerWebSocket ws;
  private final int maxMessageBytes;
  private final int maxWriteQueueBytes;
  private final Runnable onClosed;
  private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPORT)
      .onUnmappableCharacter(CodingErrorAction.REPORT);
  private Session session;
  private Buffer assembling;
  private boolean closing;

  /** {@code onClosed} runs once when the socket is gone, after the session released it. */
  public SocketConnection(ServerWebSocket ws, int maxMessageBytes, Runnable onClosed) {
    this(ws, maxMessageBytes, 0, onClosed);
  }

  /**
   * As above, with {@link #writeQueueFull()} true only once {@code maxWriteQueueBytes} wait to be
   * written (0 keeps Vert.x's default). That default, 64 KiB, is less than one join's replay of
   * 50 long messages: every client joining such a room was closed with 4001 as a slow consumer
   * before it could read.
   */
  public SocketConnection(ServerWebSocket ws, int maxMessageBytes, int maxWriteQueueBytes, Runnable onClosed) {
    this.ws = ws;
    this.maxMessageBytes = maxMessageBytes;
    this.maxWriteQueueBytes = maxWriteQueueBytes;
    this.onClosed = onClosed;
  }

  /** Starts feeding {@code session} with this socket's traffic. */
  public void attach(Session session) {
    this.session = session;
    try {
      if (maxWriteQueueBytes > 0) {
        ws.setWriteQueueMaxSize(maxWriteQueueBytes);
      }
      ws.frameHandler(this::onFrame);
      ws.exceptionHandler(this::onError);
      ws.closeHandler(v -> {
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
      ws.writeFrame(new WebSocketFrameImpl(WebSocketFrameType.TEXT, Unpooled.wrappedBuffer(frame), true));
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
    if (closing) {
      return;
    }
    switch (frame.type()) {
      case TEXT -> {
        assembling = null;
        append(frame);
      }
      case CONTINUATION -> {
        if (assembling != null) {
          append(frame);
        }
      }
      case BINARY -> session.close(CloseCode.BINARY);
      default -> {
        // ping, pong and close frames only prove the client alive; Vert.x answers pings itself
      }
    }
  }

  private void append(WebSocketFrame frame) {
    Buffer data = frame.binaryData();
    if (frame.isFinal() && assembling == null) {
      complete(data);
      return;
    }
    if (assembling == null) {
      assembling = Buffer.buffer(Math.min(maxMessageBytes, data.length() * 2));
    }
    if (assembling.length() + data.length() > maxMessageBytes) {
      assembling = null;
      session.close(CloseCode.TOO_BIG);
      return;
    }
    assembling.appendBuffer(data);
    if (frame.isFinal()) {
      Buffer message = assembling;
      assembling = null;
      complete(message);
    }
  }

  private void complete(Buffer message) {
    if (message.length() > maxMessageBytes) {
      session.close(CloseCode.TOO_BIG);
      return;
    }
    String text;
    try {
      text = utf8.decode(ByteBuffer.wrap(message.getBytes())).toString();
    } catch (CharacterCodingException e) {
      session.close(CloseCode.INVALID_UTF8);
      return;
    }
    session.onText(text);
  }

  private void onError(Throwable e) {
    if (e instanceof CorruptedWebSocketFrameException bad) {
      int status = bad.closeStatus() == null ? 1002 : bad.closeStatus().code();
      session.close(switch (status) {
        case 1009 -> CloseCode.TOO_BIG;
        case 1007 -> CloseCode.INVALID_UTF8;
        default -> CloseCode.PROTOCOL_ERROR;
      });
      return;
    }
    LOG.debug("socket error on {}: {}", session.connId(), e.toString());
  }
}
