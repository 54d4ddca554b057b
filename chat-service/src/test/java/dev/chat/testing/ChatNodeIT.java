package dev.chat.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ChatNodeIT {

  /**
   * Stands in for a node only to test the fixture: serves {@code /health/ready} on {@code
   * CHAT_PORT} with the status in {@code READY_STATUS} (200 unless set).
   */
  public static final class ReadyServer {
    public static void main(String[] args) throws Exception {
      int port = Integer.parseInt(System.getenv("CHAT_PORT"));
      int status = Integer.parseInt(System.getenv().getOrDefault("READY_STATUS", "200"));
      HttpServer http =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
      http.createContext(
          "/health/ready",
          exchange -> {
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
          });
      http.start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> System.out.println("terminating")));
      System.out.println(
          "started "
              + System.getenv("CHAT_NODE_ID")
              + " "
              + System.getenv("GREETING")
              + " "
              + port);
    }
  }

  private static ChatNode.Builder readyServer() {
    return ChatNode.builder().mainClass(ReadyServer.class.getName());
  }

  @Test
  @DisplayName("start returns once the node is ready, with its name, port and environment")
  void startsReadyNode() {
    try (ChatNode node = readyServer().name("alpha").env("GREETING", "hi").start()) {
      assertThat(node.httpStatus("/health/ready")).isEqualTo(200);
      assertThat(node.httpStatus("/elsewhere")).isEqualTo(404);
      assertThat(node.name()).isEqualTo("alpha");
      assertThat(node.logTail(5)).contains("started alpha hi " + node.port());
      assertThat(node.logFile().getFileName().toString())
          .isEqualTo("alpha-" + node.port() + ".log");
      assertThat(node.wsUri("a b")).hasToString("ws://127.0.0.1:" + node.port() + "/ws?user=a%20b");

      node.kill();
      assertThat(node.isAlive()).isFalse();
      assertThat(node.httpStatus("/health/ready")).isEqualTo(-1);
    }
  }

  @Test
  @DisplayName("terminate lets the node run its shutdown hooks and exit with 143")
  void terminatesGracefully() {
    try (ChatNode node = readyServer().env("CHAT_NODE_ID", "given-id").start()) {
      assertThat(node.logTail(5)).contains("started given-id");
      node.terminate();
      assertThat(node.waitForExit(Duration.ofSeconds(10))).isEqualTo(143);
      assertThat(node.logTail(5)).contains("terminating");
    }
  }

  @Test
  @DisplayName("start fails with the log's tail when the process dies or never becomes ready")
  void reportsFailedStart() {
    assertThatThrownBy(() -> readyServer().mainClass("dev.chat.testing.NoSuchMain").start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exited with 1")
        .hasMessageContaining("NoSuchMain");
    assertThatThrownBy(
            () ->
                readyServer()
                    .env("READY_STATUS", "503")
                    .readyTimeout(Duration.ofSeconds(1))
                    .start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not ready within PT1S")
        .hasMessageContaining("started");
  }
}
