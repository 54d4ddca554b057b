package dev.chat.session;

import dev.chat.protocol.CloseCode;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reassembles a WebSocket's data frames into whole messages, enforcing the size limit (1009),
 * strict UTF-8 for text (1007) and, unless binary is accepted, text only (1003).
 *
 * <p>Vert.x neither closes a socket whose message exceeds the size limit (it only calls the
 * exception handler) nor rejects invalid UTF-8, so both checks are made here. Fragment order (a
 * continuation without a start, a new message inside a fragmented one) is enforced by Netty's frame
 * decoder, which reports it through {@link #closeCodeOf}.
 */
public final class MessageReader {

  /** Receives whole messages, or the one close code that ends the connection. */
  public interface Handler {
    void text(String message);

    /** Only called when the reader accepts binary messages. */
    void binary(Buffer message);

    void refuse(CloseCode code);
  }

  private final int maxMessageBytes;
  private final boolean acceptBinary;
  private final Handler handler;
  private final CharsetDecoder utf8 =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT);
  private Buffer assembling;
  private boolean assemblingBinary;

  public MessageReader(int maxMessageBytes, boolean acceptBinary, Handler handler) {
    this.maxMessageBytes = maxMessageBytes;
    this.acceptBinary = acceptBinary;
    this.handler = handler;
  }

  /** Takes one frame; control frames (ping, pong, close) are not messages and are ignored. */
  public void onFrame(WebSocketFrame frame) {
    switch (frame.type()) {
      case TEXT -> start(frame, false);
      case BINARY -> {
        if (acceptBinary) {
          start(frame, true);
        } else {
          assembling = null;
          handler.refuse(CloseCode.BINARY);
        }
      }
      case CONTINUATION -> {
        if (assembling != null) {
          append(frame);
        }
      }
      default -> {
        // ping, pong and close frames: Vert.x answers pings and close frames itself
      }
    }
  }

  /**
   * The close code for an error the WebSocket reported, or null when it is not a framing error (for
   * example the connection was reset).
   */
  public static CloseCode closeCodeOf(Throwable e) {
    if (!(e instanceof CorruptedWebSocketFrameException bad)) {
      return null;
    }
    int status = bad.closeStatus() == null ? 1002 : bad.closeStatus().code();
    return switch (status) {
      case 1009 -> CloseCode.TOO_BIG;
      case 1007 -> CloseCode.INVALID_UTF8;
      default -> CloseCode.PROTOCOL_ERROR;
    };
  }

  private void start(WebSocketFrame frame, boolean binary) {
    assembling = null;
    assemblingBinary = binary;
    append(frame);
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
      handler.refuse(CloseCode.TOO_BIG);
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
      handler.refuse(CloseCode.TOO_BIG);
      return;
    }
    if (assemblingBinary) {
      handler.binary(message);
      return;
    }
    String text;
    try {
      text = utf8.decode(ByteBuffer.wrap(message.getBytes())).toString();
    } catch (CharacterCodingException e) {
      handler.refuse(CloseCode.INVALID_UTF8);
      return;
    }
    handler.text(text);
  }
}
