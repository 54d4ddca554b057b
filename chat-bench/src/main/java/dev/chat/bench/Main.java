package dev.chat.bench;

import java.nio.file.Path;

/**
 * {@code java -jar chat-bench.jar <scenario> [--option value]...}; scenarios smoke, idle, bigroom,
 * rooms, latency, storm, steady, signals, report; {@code floor} runs the floor server; {@code
 * profile-window} sums a JFR file's CPU samples within a window. See chat-bench/README.md.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args));
  }

  /** Runs one scenario and returns its exit code (0 ok, 1 failed verdict, 2 usage). */
  public static int run(String[] args) throws Exception {
    Options o;
    try {
      o = new Options(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(
          "usage: java -jar chat-bench.jar smoke|idle|bigroom|rooms|latency|storm|steady|signals|report|floor|profile-window [--option value]...");
      return 2;
    }
    if (o.scenario.equals("floor")) {
      return dev.chat.bench.floor.FloorServer.run(
          o.str("host", "0.0.0.0"), o.integer("port", 8090), o.integer("threads", 1));
    }
    if (o.scenario.equals("profile-window")) {
      return ProfileWindow.run(o);
    }
    if (o.scenario.equals("report")) {
      Report.write(
          Path.of(o.str("results", "bench/results")),
          Path.of(o.str("out", "docs/benchmarks.md")),
          Path.of(o.str("plots", "docs/bench")),
          o);
      return 0;
    }
    try (Bench b = new Bench(o)) {
      int code =
          switch (o.scenario) {
            case "smoke" -> Scenarios.smoke(b);
            case "idle" -> Scenarios.idle(b);
            case "bigroom" -> Scenarios.bigroom(b);
            case "rooms" -> Scenarios.rooms(b);
            case "latency" -> Scenarios.latency(b);
            case "storm" -> Scenarios.storm(b);
            case "steady" -> Scenarios.steady(b);
            case "signals" -> Signals.run(b);
            default -> {
              System.err.println("unknown scenario " + o.scenario);
              yield 2;
            }
          };
      if (code == 0
          && !o.scenario.equals("smoke")
          && b.shared.connected.sum() == 0
          && b.clients.size() > 0) {
        System.err.println("no client is connected at the end of the run");
        code = 1;
      }
      if (code != 2) b.write();
      return code;
    }
  }
}
