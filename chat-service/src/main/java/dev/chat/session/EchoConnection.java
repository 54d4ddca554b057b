package dev.chat.session;

import dev.chat.protocol.CloseCode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;

/**
 * The test-only echo endpoint ({@code /echo}, enabled by {@code CHAT_ECHO_ENDPOINT=true}): sends
 * every whole message back unchanged, under the same frame rules as {@code /ws} (one {@link
 * MessageReader}: size limit 1009, UTF-8 1007, fragments) except that binary messages are echoed
 * too, as the Autobahn conformance suite expects, where {@code /ws} closes with 1003.
 */
public final class EchoConnection implements MessageReader.Handler {

  private final ServerWebSocket ws;
  private final MessageReader reader;
  private boolean closing;

  private EchoConnection(ServerWebSocket ws, int maxMessageBytes) {
    this.ws = ws;
    this.reader = new MessageReader(maxMessageBytes, true, this);
  }

  /** Starts echoing on {@code ws}. */
  public static void attach(ServerWebSocket ws, int maxMessageBytes) {
    EchoConnection echo = new EchoConnection(ws, maxMessageBytes);
    try {
      ws.frameHandler(
          frame -> {
            if (!echo.closing) {
              echo.reader.onFrame(frame);
            }
          });
      ws.exceptionHandler(
          e -> {
            CloseCode code = MessageReader.closeCodeOf(e);
            if (code != null) {
              echo.refuse(code);
            }
          });
      ws.shutdownHandler(v -> echo.refuse(CloseCode.SHUTTING_DOWN));
    } catch (IllegalStateException closedAlready) {
      // the client went away between the upgrade and here
    }
  }

  @Override
  public void text(String message) {
    ws.writeTextMessage(message);
  }

  @Override
  public void binary(Buffer message) {
    ws.writeBinaryMessage(message);
  }

  @Override
  public void refuse(CloseCode code) {
    if (!closing) {
      closing = true;
      ws.close(code.code(), code.reason());
    }
  }
}
