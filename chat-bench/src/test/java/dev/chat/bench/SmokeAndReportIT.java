package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The smoke scenario through the CLI against a real chat-service process, then the report over its
 * result.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SmokeAndReportIT {
  @TempDir static Path dir;
  private Process service;
  private int port;

  @BeforeAll
  void startService() throws Exception {
    Path jar =
        Path.of(System.getProperty("chat.service.jar", "../chat-service/target/chat-service.jar"));
    assertThat(jar).as("the reactor builds chat-service before chat-bench").exists();
    String java = ProcessHandle.current().info().command().orElse("java");
    for (int attempt = 0; attempt < 3 && service == null; attempt++) {
      try (ServerSocket s = new ServerSocket(0)) {
        port = s.getLocalPort();
      }
      ProcessBuilder pb =
          new ProcessBuilder(java, "-Xmx256m", "-jar", jar.toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("service-" + attempt + ".log").toFile());
      pb.environment().put("CHAT_PORT", String.valueOf(port));
      pb.environment().remove("CHAT_REDIS_URL");
      Process p = pb.start();
      if (ready(p)) service = p;
      else p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    assertThat(service).as("chat-service became ready, see " + dir).isNotNull();
  }

  private boolean ready(Process p) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && p.isAlive()) {
      try {
        var r =
            http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) return true;
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(200);
    }
    return false;
  }

  @AfterAll
  void stopService() throws InterruptedException {
    if (service != null) {
      service.destroy();
      if (!service.waitFor(10, TimeUnit.SECONDS))
        service.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @Order(1)
  @DisplayName(
      "the smoke scenario delivers messages to every member with nothing lost and writes a complete result file")
  void smoke() throws Exception {
    int code =
        Main.run(
            new String[] {
              "smoke",
              "--proto",
              "ours",
              "--urls",
              "ws://127.0.0.1:" + port,
              "--pids",
              String.valueOf(service.pid()),
              "--clients",
              "4",
              "--rate",
              "20",
              "--step-seconds",
              "1.5",
              "--label",
              "ours",
              "--out",
              dir.resolve("results").toString()
            });
    assertThat(code).isZero();
    JsonNode r = new ObjectMapper().readTree(dir.resolve("results/smoke-ours.json").toFile());
    assertThat(r.path("scenario").asText()).isEqualTo("smoke");
    assertThat(r.path("connected").asLong()).isEqualTo(4);
    JsonNode step = r.path("steps").get(0);
    assertThat(step.path("sent").asLong()).isPositive();
    assertThat(step.path("acked").asLong()).isEqualTo(step.path("sent").asLong());
    // every member, the sender included, receives every message once
    assertThat(step.path("received").asLong()).isEqualTo(4 * step.path("acked").asLong());
    assertThat(step.path("latencyMs").path("p99").asDouble()).isPositive();
    assertThat(step.path("serverCpuMicros").asLong()).isGreaterThanOrEqualTo(0);
    assertThat(r.path("loss").path("lost").asLong()).isZero();
    assertThat(r.path("loss").path("lostBySeq").asLong()).isZero();
    assertThat(r.path("loss").path("expectedDeliveries").asLong())
        .isEqualTo(4 * step.path("acked").asLong());
    assertThat(r.path("loss").path("duplicatesDelivered").asLong()).isZero();
    assertThat(r.path("memory").path("heapBytes").asLong()).isPositive();
    assertThat(r.path("memory").path("rssBytes").asLong()).isPositive();
  }

  @Test
  @Order(2)
  @DisplayName(
      "the report over the smoke result writes decodable PNG plots and a markdown page with the tables")
  void report() throws Exception {
    Path results = dir.resolve("results");
    // A second target's file, from the same run relabelled, so the comparison columns are
    // exercised.
    JsonNode smoke = new ObjectMapper().readTree(results.resolve("smoke-ours.json").toFile());
    ((com.fasterxml.jackson.databind.node.ObjectNode) smoke).put("scenario", "bigroom");
    ((com.fasterxml.jackson.databind.node.ObjectNode) smoke)
        .putObject("best")
        .put("deliveriesPerSec", smoke.path("steps").get(0).path("deliveriesPerSec").asLong())
        .put("cpuMicrosPerDelivery", 2.0);
    ((com.fasterxml.jackson.databind.node.ObjectNode) smoke)
        .putObject("peak")
        .put("deliveriesPerSec", smoke.path("steps").get(0).path("deliveriesPerSec").asLong())
        .put("cpuMicrosPerDelivery", 2.0)
        .put("p99Ms", 5.0);
    new ObjectMapper().writeValue(results.resolve("bigroom-ours.json").toFile(), smoke);
    ((com.fasterxml.jackson.databind.node.ObjectNode) smoke).put("label", "socketio");
    ((com.fasterxml.jackson.databind.node.ObjectNode) smoke.path("best"))
        .put("cpuMicrosPerDelivery", 40.0);
    ((com.fasterxml.jackson.databind.node.ObjectNode) smoke.path("peak"))
        .put("cpuMicrosPerDelivery", 40.0);
    new ObjectMapper().writeValue(results.resolve("bigroom-socketio.json").toFile(), smoke);

    Path out = dir.resolve("docs/benchmarks.md"), plots = dir.resolve("docs/bench");
    assertThat(
            Main.run(
                new String[] {
                  "report",
                  "--results",
                  results.toString(),
                  "--out",
                  out.toString(),
                  "--plots",
                  plots.toString()
                }))
        .isZero();
    String md = Files.readString(out);
    assertThat(md)
        .contains(
            "## Ours vs the peers",
            "| scenario | metric | ours | socketio |",
            "## Targets",
            "<!-- profile -->",
            "## How to reproduce",
            "(bench/latency-bigroom.png)");
    assertThat(md).contains("| bigroom: ≥ 10× socketio's deliveries per core | 20× | met |");
    assertThat(md)
        .contains("| bigroom: ≤ 3.3 µs server CPU per delivery (at the peak) | 2 µs | met |");
    List<Path> pngs;
    try (var s = Files.list(plots)) {
      pngs = s.filter(p -> p.toString().endsWith(".png")).toList();
    }
    assertThat(pngs).extracting(p -> p.getFileName().toString()).contains("latency-bigroom.png");
    for (Path png : pngs) {
      BufferedImage img = ImageIO.read(png.toFile());
      assertThat(img).as(png.toString()).isNotNull();
      assertThat(img.getWidth()).isEqualTo(900);
    }
  }
}
