package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.send;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The node prefers the native transport (epoll) and runs on NIO when it cannot load; either way it
 * says which at start and carries messages.
 */
@Timeout(60)
class TransportIT {

  @Test
  @DisplayName("on Linux x86_64 the node runs on epoll and says so")
  void nativeTransport() {
    try (ChatNode node = ChatNode.builder().name("epoll").start()) {
      assertThat(node.logTail(200)).contains("transport: native (epoll)");
      assertRoundTrip(node);
    }
  }

  @Test
  @DisplayName("when the native library is refused the node starts on NIO, says why, and serves")
  void nioFallback() {
    // Netty's own switch: Epoll.isAvailable() is false, as on a platform without the library.
    try (ChatNode node =
        ChatNode.builder().name("nio").jvmArg("-Dio.netty.transport.noNative=true").start()) {
      assertThat(node.logTail(200)).contains("transport: NIO (native transport unavailable:");
      assertRoundTrip(node);
    }
  }

  private static void assertRoundTrip(ChatNode node) {
    String room = room();
    try (WsClient a = WsClient.connect(node.wsUri(user("a")));
        WsClient b = WsClient.connect(node.wsUri(user("b")))) {
      a.welcome();
      b.welcome();
      joinRoom(a, room);
      joinRoom(b, room);
      a.send(send(room, "m1", "over the transport"));
      JsonObject message = b.await("message", WAIT);
      assertThat(message.getString("text")).isEqualTo("over the transport");
    }
  }
}
