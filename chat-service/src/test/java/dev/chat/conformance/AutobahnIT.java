package dev.chat.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatNode;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RFC 6455 conformance: the Autobahn|Testsuite fuzzing client (its Python code under Jython, from
 * the autobahntestsuite-maven-plugin artifact, used here as a library) runs cases 1–7 against a
 * real node's {@code /echo} endpoint, which reads frames with the same {@code MessageReader} as
 * {@code /ws}.
 *
 * <p>Why not the plugin's mojo: it starts the server inside Maven's own JVM, connects to {@code
 * InetAddress.getLocalHost()} (not necessarily loopback) and always to the path {@code /}; calling
 * its runner ({@link AutobahnRunner}, in a JVM of its own) keeps the node a real child process on
 * 127.0.0.1 and {@code /echo}.
 *
 * <p>A case passes when Autobahn rates it OK, NON-STRICT (conforming, though not the strictest
 * reading: for example invalid UTF-8 is refused when the message ends, not at the first bad
 * fragment) or INFORMATIONAL (no expectation); anything else fails the build. Reports: {@code
 * target/autobahntestsuite-reports/index.html}.
 */
@Timeout(240)
class AutobahnIT {

  /** What the fuzzing client rates as conforming; the same rule as the plugin's mojo. */
  private static final Set<String> PASSING = Set.of("OK", "NON-STRICT", "INFORMATIONAL");

  private static final List<String> CASES =
      List.of("1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*");

  // No case is excluded; an exclusion would go to the runner with its reason written here.
  /** How many cases 1–7 the pinned suite (Autobahn Testsuite 0.6.4) has: none may go missing. */
  private static final int CASE_COUNT = 246;

  private static final String AGENT = "chat-echo";
  private static final Duration RUNNER_TIMEOUT = Duration.ofMinutes(3);

  /** Case ids in numeric order: 1.1.2 before 1.1.10. */
  private static final Comparator<String> CASE_ORDER =
      Comparator.comparing(
          id -> Arrays.stream(id.split("\\.")).mapToInt(Integer::parseInt).toArray(),
          Arrays::compare);

  @Test
  @DisplayName("Autobahn|Testsuite cases 1 to 7 against the echo endpoint: none FAILED")
  void fuzzingClientCasesOneToSeven() throws Exception {
    Path reports = Path.of("target", "autobahntestsuite-reports").toAbsolutePath();
    deleteRecursively(reports);
    try (ChatNode node =
        ChatNode.builder().name("autobahn").env("CHAT_ECHO_ENDPOINT", "true").start()) {
      List<String> command =
          new ArrayList<>(
              List.of(
                  ProcessHandle.current().info().command().orElse("java"),
                  "-cp",
                  System.getProperty("java.class.path"),
                  AutobahnRunner.class.getName(),
                  AGENT,
                  "ws://127.0.0.1:" + node.port() + "/echo"));
      command.addAll(CASES);
      Path log = Path.of("target", "autobahn-runner.log").toAbsolutePath();
      Process runner =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      try {
        assertThat(runner.waitFor(RUNNER_TIMEOUT.toSeconds(), TimeUnit.SECONDS))
            .as("fuzzing client finished within %s; log %s", RUNNER_TIMEOUT, log)
            .isTrue();
      } finally {
        runner.destroyForcibly();
      }
      assertThat(runner.exitValue()).as("fuzzing client exit; log %s", log).isZero();
      assertThat(node.isAlive()).as("node survived the fuzzing").isTrue();
    }

    JsonObject agent =
        new JsonObject(Files.readString(reports.resolve("index.json"))).getJsonObject(AGENT);
    assertThat(agent).as("results for %s in %s", AGENT, reports).isNotNull();
    Map<String, JsonObject> results = new TreeMap<>(CASE_ORDER);
    agent.forEach(e -> results.put(e.getKey(), (JsonObject) e.getValue()));
    Map<String, Long> byBehavior =
        results.values().stream()
            .collect(
                Collectors.groupingBy(
                    r -> r.getString("behavior"), TreeMap::new, Collectors.counting()));
    System.out.println("autobahn cases 1-7: " + results.size() + " run, " + byBehavior);
    results.forEach(
        (id, r) -> {
          if (!"OK".equals(r.getString("behavior"))) {
            System.out.println(
                "  "
                    + id
                    + " "
                    + r.getString("behavior")
                    + "/"
                    + r.getString("behaviorClose")
                    + " close "
                    + r.getValue("remoteCloseCode"));
          }
        });

    assertThat(results).as("cases run").hasSize(CASE_COUNT);
    assertThat(results.entrySet())
        .as("cases that FAILED (see %s)", reports.resolve("index.html"))
        .filteredOn(
            e ->
                !PASSING.contains(e.getValue().getString("behavior"))
                    || !PASSING.contains(e.getValue().getString("behaviorClose")))
        .extracting(
            e ->
                e.getKey()
                    + " "
                    + e.getValue().getString("behavior")
                    + "/"
                    + e.getValue().getString("behaviorClose"))
        .isEmpty();
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
  }

  @Test
  @DisplayName("the echo endpoint is off unless CHAT_ECHO_ENDPOINT=true")
  void echoIsOffByDefault() {
    try (ChatNode node = ChatNode.builder().name("no-echo").env("CHAT_INSTANCES", "1").start()) {
      assertThat(node.httpStatus("/echo")).isEqualTo(404);
    }
  }
}
