package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * chat-bench's clients retry a join answered {@code unavailable}, as chat-client.js does: a real
 * chat-service process on a real redis-server, which is stopped while the client is connected and
 * started again on the same port while the join waits.
 */
class UnavailableRetryIT {
  @TempDir Path dir;
  private Process redis;
  private Process service;

  @AfterEach
  void stop() throws Exception {
    for (Process p : new Process[] {service, redis}) {
      if (p != null) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aJoinAnsweredUnavailableIsRetriedUntilItIsJoined() throws Exception {
    int redisPort = freePort();
    redis = startRedis(redisPort);
    int port = freePort();
    Path jar =
        Path.of(System.getProperty("chat.service.jar", "../chat-service/target/chat-service.jar"));
    assertThat(jar).as("the reactor builds chat-service before chat-bench").exists();
    ProcessBuilder pb =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-Xmx256m",
                "-jar",
                jar.toString())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("service.log").toFile());
    pb.environment().put("CHAT_PORT", String.valueOf(port));
    pb.environment().put("CHAT_INSTANCES", "1");
    pb.environment().put("CHAT_REDIS_URL", "redis://127.0.0.1:" + redisPort);
    service = pb.start();
    awaitReady(port);

    try (Bench b =
        new Bench(
            new Options(
                new String[] {"smoke", "--urls", "ws://127.0.0.1:" + port, "--threads", "1"}))) {
      List<Client> cs = b.newClients(1, "retry", i -> 0);
      assertThat(b.connect(cs)).isEqualTo(1);
      redis.destroyForcibly().waitFor(10, TimeUnit.SECONDS);

      CompletableFuture<Void> joined = cs.get(0).join("retry-room", false);
      // While Redis is down the join is answered unavailable, and retried a second later, again.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (b.shared.stats.unavailable.sum() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(b.shared.stats.unavailable.sum())
          .as("the join was answered unavailable while Redis was down")
          .isPositive();
      assertThat(joined).isNotDone();

      redis = startRedis(redisPort);
      joined.get(30, TimeUnit.SECONDS);
      assertThat(joined).isCompleted();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Process startRedis(int port) throws Exception {
    Process p =
        new ProcessBuilder(
                "redis-server",
                "--port",
                String.valueOf(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no")
            .redirectErrorStream(true)
            .redirectOutput(
                dir.resolve("redis-" + port + "-" + System.nanoTime() + ".log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
        return p;
      } catch (IOException notYet) {
        Thread.sleep(20);
      }
    }
    throw new IllegalStateException("redis-server did not listen on " + port);
  }

  private void awaitReady(int port) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline && service.isAlive()) {
      try {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("chat-service did not get ready (see " + dir + ")");
  }
}
