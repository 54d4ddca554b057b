package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.chat.bench.floor.FloorServer;
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

  private static JsonNode read(Path f) throws IOException {
    assertThat(f).exists();
    return new ObjectMapper().readTree(f.toFile());
  }

  /**
   * What a short steady run must show whatever the server: both windows, every send acked, no loss.
   */
  private static void assertSteady(JsonNode r, int members) {
    assertThat(r.path("scenario").asText()).isEqualTo("steady");
    assertThat(r.path("joined").asLong()).isEqualTo(members);
    assertThat(r.path("acks").path("delayMs").asLong())
        .isEqualTo(AckCadence.CHAT_CLIENT_JS.delayMs());
    assertThat(r.path("acks").path("every").asInt()).isEqualTo(AckCadence.CHAT_CLIENT_JS.every());
    for (String w : List.of("cold", "warm")) {
      JsonNode row = r.path(w);
      assertThat(row.path("window").asText()).isEqualTo(w);
      assertThat(row.path("received").asLong()).as(w + " deliveries").isPositive();
      assertThat(row.path("latencyMs").path("p99").asDouble()).isPositive();
    }
    assertThat(r.path("sentTotal").asLong()).isPositive();
    assertThat(r.path("ackedTotal").asLong()).isEqualTo(r.path("sentTotal").asLong());
    assertThat(r.path("loss").path("members").asLong()).isEqualTo(members);
    assertThat(r.path("loss").path("expectedDeliveries").asLong())
        .isEqualTo(members * r.path("ackedTotal").asLong());
    assertThat(r.path("loss").path("lost").asLong()).isZero();
    assertThat(r.path("loss").path("lostBySeq").asLong()).isZero();
    assertThat(r.path("loss").path("duplicatesDelivered").asLong()).isZero();
    assertThat(r.path("loss").path("framesPastAGap").asLong()).isZero();
  }

  @Test
  @Order(6)
  @DisplayName(
      "the signals scenario measures a message, a typing frame and a read receipt in one room: each"
          + " reaches every member (typing all but the typist) and has its CPU per event")
  void signals() throws Exception {
    int members = 10;
    int code =
        Main.run(
            new String[] {
              "signals",
              "--proto",
              "ours",
              "--urls",
              "ws://127.0.0.1:" + port,
              "--pids",
              String.valueOf(service.pid()),
              "--members",
              String.valueOf(members),
              "--rate",
              "5",
              "--step-seconds",
              "1",
              "--warmup-seconds",
              "0.4",
              "--idle-seconds",
              "0.5",
              "--rounds",
              "1",
              "--settle-seconds",
              "0.5",
              "--quiet-ms",
              "300",
              "--label",
              "ours",
              "--out",
              dir.resolve("signals").toString()
            });
    assertThat(code).isZero();
    JsonNode r = read(dir.resolve("signals/signals-ours.json"));
    assertThat(r.path("joined").asLong()).isEqualTo(members);
    assertThat(r.path("steps")).hasSize(3);
    JsonNode perKind = r.path("perKind");
    for (String kind : List.of("message", "typing", "read")) {
      JsonNode k = perKind.path(kind);
      assertThat(k.path("events").asLong()).as(kind + " events").isPositive();
      assertThat(k.path("deliveriesPerEvent").asDouble())
          .as(kind + " deliveries per event")
          .isEqualTo(kind.equals("typing") ? members - 1 : members);
      assertThat(k.path("serverCpuMicrosPerEvent").asDouble()).as(kind).isGreaterThanOrEqualTo(0);
    }
    assertThat(r.path("readOverMessage").isNumber()).isTrue();
  }

  @Test
  @Order(2)
  @DisplayName(
      "a short steady run against chat-service measures a cold and a warm window, CPU per replica, and loses nothing")
  void steady() throws Exception {
    int code =
        Main.run(
            new String[] {
              "steady",
              "--proto",
              "ours",
              "--urls",
              "ws://127.0.0.1:" + port,
              "--pids",
              String.valueOf(service.pid()),
              "--members",
              "20",
              "--rate",
              "10",
              "--cold-seconds",
              "1",
              "--warmup-seconds",
              "1.5",
              "--measure-seconds",
              "1.5",
              "--label",
              "ours",
              "--out",
              dir.resolve("results").toString()
            });
    assertThat(code).isZero();
    JsonNode r = read(dir.resolve("results/steady-20x10-ours.json"));
    assertSteady(r, 20);
    assertThat(r.path("case").asText()).isEqualTo("20x10");
    assertThat(r.path("loadDeliveriesPerSec").asLong()).isEqualTo(200);
    JsonNode warm = r.path("warm");
    assertThat(warm.path("serverCpuMicrosByReplica")).hasSize(1);
    assertThat(warm.path("serverCpuMicrosByReplica").get(0).asLong()).isGreaterThanOrEqualTo(0);
    assertThat(warm.path("cpuMicrosPerDelivery").asDouble()).isGreaterThanOrEqualTo(0);
  }

  @Test
  @Order(3)
  @DisplayName(
      "the floor server's message frame has ours' fields and, for the same send, ours' size within a few digits")
  void floorFramesLikeOurs() throws Exception {
    try (FloorServer floor = FloorServer.start("127.0.0.1", 0, 1)) {
      String text = "t=1;p=0;c=0;" + "x".repeat(24);
      String ours = firstMessage(URI.create("ws://127.0.0.1:" + port), "sizeA", text);
      String theirs = firstMessage(URI.create("ws://127.0.0.1:" + floor.port()), "sizeA", text);
      ObjectMapper json = new ObjectMapper();
      var a = json.readTree(ours);
      var b = json.readTree(theirs);
      List<String> fa = new java.util.ArrayList<>(), fb = new java.util.ArrayList<>();
      a.fieldNames().forEachRemaining(fa::add);
      b.fieldNames().forEachRemaining(fb::add);
      assertThat(fb).as(theirs + " vs " + ours).containsExactlyElementsOf(fa);
      assertThat(b.path("text").asText()).isEqualTo(text);
      // seq and the room name's run id may differ by a few digits; nothing else does.
      assertThat(Math.abs(theirs.length() - ours.length()))
          .as(theirs + " vs " + ours)
          .isLessThan(8);
    }
  }

  /**
   * Joins {@code room-<run>} as {@code user}, sends {@code text}, returns the message frame echoed.
   */
  private static String firstMessage(URI base, String user, String text) throws Exception {
    String room = "size-" + System.nanoTime();
    java.util.concurrent.LinkedBlockingQueue<String> frames =
        new java.util.concurrent.LinkedBlockingQueue<>();
    java.net.http.WebSocket ws =
        HttpClient.newHttpClient()
            .newWebSocketBuilder()
            .buildAsync(
                URI.create(base + "/ws?user=" + user),
                new java.net.http.WebSocket.Listener() {
                  final StringBuilder part = new StringBuilder();

                  @Override
                  public java.util.concurrent.CompletionStage<?> onText(
                      java.net.http.WebSocket w, CharSequence data, boolean last) {
                    part.append(data);
                    if (last) {
                      frames.add(part.toString());
                      part.setLength(0);
                    }
                    w.request(1);
                    return null;
                  }
                })
            .get(10, TimeUnit.SECONDS);
    try {
      next(frames, "welcome");
      ws.sendText("{\"type\":\"join\",\"room\":\"" + room + "\"}", true).get(5, TimeUnit.SECONDS);
      next(frames, "joined");
      ws.sendText(
              "{\"type\":\"send\",\"room\":\""
                  + room
                  + "\",\"id\":\""
                  + user
                  + "-0\",\"text\":\""
                  + text
                  + "\"}",
              true)
          .get(5, TimeUnit.SECONDS);
      return next(frames, "message");
    } finally {
      ws.abort();
    }
  }

  /** The next frame of {@code type}, skipping others (presence, acks); fails after 10 s. */
  private static String next(java.util.concurrent.BlockingQueue<String> frames, String type)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      String f = frames.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      assertThat(f).as("a " + type + " frame within 10 s").isNotNull();
      if (f.startsWith("{\"type\":\"" + type + "\"")) return f;
    }
  }

  @Test
  @Order(4)
  @DisplayName(
      "the floor server serves chat-bench's steady and bigroom scenarios: every member joined, every message delivered once")
  void floor() throws Exception {
    try (FloorServer floor = FloorServer.start("127.0.0.1", 0, 2)) {
      String url = "ws://127.0.0.1:" + floor.port();
      String results = dir.resolve("results").toString();
      assertThat(
              Main.run(
                  new String[] {
                    "steady",
                    "--proto",
                    "ours",
                    "--urls",
                    url + "," + url,
                    "--members",
                    "30",
                    "--rate",
                    "10",
                    "--cold-seconds",
                    "1",
                    "--warmup-seconds",
                    "1.5",
                    "--measure-seconds",
                    "1.5",
                    "--label",
                    "floor",
                    "--out",
                    results
                  }))
          .isZero();
      JsonNode st = read(dir.resolve("results/steady-30x10-floor.json"));
      assertSteady(st, 30);
      // chat-client.js's cadence: never an ack per more than `every` deliveries, never more acks
      // than deliveries (a flush sends only for rooms with something new or redelivered).
      long deliveries = 30 * st.path("ackedTotal").asLong();
      assertThat(floor.acksRead())
          .isBetween(
              (long) Math.ceil(deliveries / (double) AckCadence.CHAT_CLIENT_JS.every()),
              deliveries);
      assertThat(
              Main.run(
                  new String[] {
                    "bigroom",
                    "--proto",
                    "ours",
                    "--urls",
                    url,
                    "--members",
                    "50",
                    "--rates",
                    "10,20",
                    "--step-seconds",
                    "1",
                    "--warmup-seconds",
                    "0",
                    "--label",
                    "floor",
                    "--out",
                    dir.resolve("floor-bigroom").toString()
                  }))
          .isZero();
      JsonNode big = read(dir.resolve("floor-bigroom/bigroom-floor.json"));
      assertThat(big.path("joined").asLong()).isEqualTo(50);
      for (JsonNode step : big.path("steps")) {
        assertThat(step.path("acked").asLong()).isEqualTo(step.path("sent").asLong());
        assertThat(step.path("received").asLong()).isEqualTo(50 * step.path("sent").asLong());
      }
    }
  }

  @Test
  @Order(5)
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
    assertThat(md)
        .contains(
            "| bigroom: ≥ 3× socketio's deliveries per server core (at the peak) | 20× | met |");
    // The steady runs of ours and the floor: their rows, their tables, the floor comparison.
    assertThat(md)
        .contains(
            "| steady-20x10 | warm: server CPU µs per delivery (all replicas) |",
            "### steady-20x10 — ours",
            "### steady-30x10 — floor",
            "| cold | ",
            "| warm | ",
            "## Against the floor",
            "(bench/latency-steady.png)",
            "(bench/cpu-steady.png)");
    List<Path> pngs;
    try (var s = Files.list(plots)) {
      pngs = s.filter(p -> p.toString().endsWith(".png")).toList();
    }
    assertThat(pngs)
        .extracting(p -> p.getFileName().toString())
        .contains("latency-bigroom.png", "latency-steady.png", "cpu-steady.png");
    for (Path png : pngs) {
      BufferedImage img = ImageIO.read(png.toFile());
      assertThat(img).as(png.toString()).isNotNull();
      assertThat(img.getWidth()).isEqualTo(900);
    }
  }
}
