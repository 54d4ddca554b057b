package dev.chat.it;

import static dev.chat.it.LiveChecks.awaitTrue;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.RedisServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A Redis that accepts connections but never answers (paused, partitioned, or a proxy in front of a
 * Redis that is not there): the node's reconnect attempts must give up on such a connection and try
 * again, so that when a real Redis answers on that address the node recovers on its own.
 */
@Timeout(90)
class HungRedisIT {

  private static final long BROKER_TIMEOUT_MS = 1000;

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("hung")
          .env("CHAT_INSTANCES", "1")
          .env("CHAT_BROKER_TIMEOUT_MS", Long.toString(BROKER_TIMEOUT_MS))
          .nodes(1)
          .build();

  @Test
  @DisplayName(
      "reconnects stuck on a server that accepts but never answers are given up on, and the node is ready again once Redis answers on that port")
  void silentServerDoesNotWedgeReconnects() throws Exception {
    RedisServer redis = cluster.redis();
    ChatNode node = cluster.a();
    List<Socket> held = new CopyOnWriteArrayList<>();
    redis.kill();
    try (ServerSocket silent = new ServerSocket()) {
      silent.setReuseAddress(true);
      silent.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), redis.port()));
      Thread acceptor =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      while (true) {
                        held.add(silent.accept());
                      }
                    } catch (IOException closed) {
                      // the listener closed: the test moves on to a real Redis
                    }
                  });
      // Both the command and the subscriber connection have dialled the silent server and wait
      // for an answer that never comes.
      awaitTrue(
          "the node dialled the silent server twice",
          Duration.ofSeconds(20),
          () -> held.size() >= 2);
      awaitTrue(
          "node not ready", Duration.ofSeconds(10), () -> node.httpStatus("/health/ready") == 503);
      silent.close();
      acceptor.join();
    }
    try {
      // The accepted sockets stay open and silent: only a bounded attempt lets the node move on.
      redis.restart();
      awaitTrue(
          "node ready again on the real Redis",
          Duration.ofSeconds(15),
          () -> node.httpStatus("/health/ready") == 200);
    } finally {
      for (Socket s : held) {
        try {
          s.close();
        } catch (IOException e) {
          // closing a held socket that is already gone: nothing left to release
        }
      }
    }
  }
}
