package dev.chat.conformance;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import me.normanmaurer.maven.autobahntestsuite.AutobahnTestSuite;

/**
 * Runs the Autobahn|Testsuite fuzzing client in a JVM of its own; arguments: agent, URL, cases.
 *
 * <p>Its own JVM because Jython resolves {@code from io import BytesIO} to the Java package {@code
 * io} once classes of {@code io.vertx} or {@code io.netty} are loaded, and the suite's Twisted then
 * fails to import ("ImportError: cannot import name BytesIO"): the test JVM has loaded them by the
 * time this runs. Results go to {@code target/autobahntestsuite-reports/index.json}.
 */
public final class AutobahnRunner {

  private AutobahnRunner() {}

  public static void main(String[] args) {
    List<String> cases = Arrays.asList(args).subList(2, args.length);
    AutobahnTestSuite.runFuzzingClient(args[0], args[1], Map.of("version", 18), cases, List.of());
    System.exit(0); // Twisted's reactor thread would keep the JVM alive
  }
}
