package dev.chat.testing;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server the WebSocket fixtures are tested against: it greets, echoes text, and obeys a few
 * JSON commands ({@code close}, {@code fragmented}, {@code ping}) so tests can steer it.
 */
final class EchoWebSocketServer implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final HttpServer server;

  /** Pongs received, across all connections. */
  final AtomicInteger pongs = new AtomicInteger();

  /** The close status each connection ended with (Vert.x's view), in order. */
  final LinkedBlockingQueue<Short> closeCodes = new LinkedBlockingQueue<>();

  EchoWebSocketServer() {
    server = vertx.createHttpServer().requestHandler(this::handle);
    server.listen(0, "127.0.0.1").await();
  }

  int port() {
    return server.actualPort();
  }

  private void handle(HttpServerRequest request) {
    String user = request.getParam("user");
    if (!"/ws".equals(request.path())) {
      request.response().setStatusCode(404).end();
    } else if (user == null || user.isBlank()) {
      request.response().setStatusCode(401).end();
    } else if ("mallory".equals(user)) {
      request.response().setStatusCode(403).end();
    } else {
      request.toWebSocket().onSuccess(ws -> greet(ws, user));
    }
  }

  private void greet(ServerWebSocket ws, String user) {
    ws.pongHandler(payload -> pongs.incrementAndGet());
    ws.binaryMessageHandler(binary -> ws.close((short) 1003));
    ws.textMessageHandler(text -> onText(ws, text));
    ws.closeHandler(v -> closeCodes.add(ws.closeStatusCode() == null ? -1 : ws.closeStatusCode()));
    ws.writeTextMessage(new JsonObject().put("type", "welcome").put("user", user).encode());
  }

  private void onText(ServerWebSocket ws, String text) {
    JsonObject command;
    try {
      command = new JsonObject(text);
    } catch (RuntimeException notJson) {
      ws.writeTextMessage(text);
      return;
    }
    switch (String.valueOf(command.getString("type"))) {
      case "close" -> ws.close(command.getInteger("code").shortValue());
      case "ping" -> ws.writePing(Buffer.buffer("are you there"));
      case "fragmented" -> {
        String whole =
            new JsonObject().put("type", "echo").put("text", command.getString("text")).encode();
        int size = command.getInteger("size");
        for (int i = 0; i < whole.length(); i += size) {
          String part = whole.substring(i, Math.min(whole.length(), i + size));
          boolean fin = i + size >= whole.length();
          ws.writeFrame(
              i == 0
                  ? WebSocketFrame.textFrame(part, fin)
                  : WebSocketFrame.continuationFrame(Buffer.buffer(part), fin));
        }
      }
      default -> ws.writeTextMessage(text);
    }
  }

  @Override
  public void close() {
    vertx.close().await();
  }
}
