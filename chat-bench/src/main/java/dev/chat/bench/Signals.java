package dev.chat.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * The {@code signals} scenario (ours only): in one room of {@code --members} on the first url, what
 * a typing frame and a read receipt cost the server against a message, each measured as its own
 * open-loop step of {@code --rate} events/s. Server CPU per event is the step's utime+stime of
 * {@code --pids} over the events sent, also net of the idle cost of the same sockets measured
 * first.
 *
 * <p>Every event comes from the next member in turn, so no user types more than once a second (the
 * service's own typing limit) and every read receipt moves its reader's position forward (each
 * client reads seq 1, then 2…, below the room's head once the message steps ran).
 */
final class Signals {
  private Signals() {}

  private static final List<String> KINDS = List.of("message", "typing", "read");

  static int run(Bench b) {
    if (b.proto != Proto.OURS) {
      System.err.println("signals: typing and read receipts are ours only (--proto ours)");
      return 2;
    }
    int members = b.o.integer("members", 10000);
    double rate = b.o.dbl("rate", 2);
    double seconds = b.o.dbl("step-seconds", 10);
    double warmup = b.o.dbl("warmup-seconds", 5);
    int rounds = b.o.integer("rounds", 2);
    // Each step's events are drained before the next kind starts, so none is counted under another.
    long drainMs = b.o.lng("drain-ms", 60_000);
    long quietMs = b.o.lng("quiet-ms", 1000);
    String room = "sig-" + b.runId;
    List<Client> cs = b.newClients(members, "g", i -> 0);
    long connected = b.connect(cs);
    long joined = b.joinAll(cs, c -> room, false);
    b.result.put("members", members);
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    // The joins' tail (presence, JIT) settles before the idle cost is taken.
    Bench.sleep((long) (b.o.dbl("settle-seconds", 5) * 1000));

    Map<String, long[]> turns = new LinkedHashMap<>();
    double idleMicrosPerSec = idle(b, b.o.dbl("idle-seconds", seconds));
    b.result.put("idleServerCpuMicrosPerSec", Math.round(idleMicrosPerSec));
    if (warmup > 0) {
      // Not recorded: the JIT compiles each path before it is measured.
      for (String kind : KINDS) {
        b.step("warmup " + kind, rate, warmup, event(kind, cs, room, turns), drainMs, quietMs);
      }
    }
    List<Map<String, Object>> rows = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      for (String kind : KINDS) {
        Map<String, Object> row =
            b.step(kind, rate, seconds, event(kind, cs, room, turns), drainMs, quietMs);
        row.put("kind", kind);
        row.put("round", round);
        rows.add(row);
      }
    }
    b.result.put("steps", rows);
    Map<String, Object> perKind = new LinkedHashMap<>();
    for (String kind : KINDS) {
      perKind.put(kind, summary(b, rows, kind, idleMicrosPerSec));
    }
    b.result.put("perKind", perKind);
    double message = perEvent(perKind, "message");
    b.result.put("typingOverMessage", ratio(perEvent(perKind, "typing"), message));
    b.result.put("readOverMessage", ratio(perEvent(perKind, "read"), message));
    long messageDeliveries = deliveries(perKind, "message");
    boolean ok = connected == members && joined == members && messageDeliveries > 0;
    b.result.put("ok", ok);
    System.err.printf(
        "[%s signals] members=%d per event (net of idle): message=%sus typing=%sus read=%sus -> %s%n",
        b.label,
        members,
        ((Map<?, ?>) perKind.get("message")).get("serverCpuMicrosPerEventNet"),
        ((Map<?, ?>) perKind.get("typing")).get("serverCpuMicrosPerEventNet"),
        ((Map<?, ?>) perKind.get("read")).get("serverCpuMicrosPerEventNet"),
        ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
  }

  /**
   * The next event of a kind, from the member after the one that sent the last event of that kind
   * (in this step or an earlier one), so turns continue across steps.
   */
  private static BiConsumer<Long, Long> event(
      String kind, List<Client> cs, String room, Map<String, long[]> turns) {
    int n = cs.size();
    long[] turn = turns.computeIfAbsent(kind, k -> new long[1]);
    return switch (kind) {
      case "message" -> (k, t) -> cs.get((int) (turn[0]++ % n)).publish(room, t);
      case "typing" -> (k, t) -> cs.get((int) (turn[0]++ % n)).typing(room);
      case "read" -> (k, t) -> cs.get((int) (turn[0]++ % n)).read(room);
      default -> throw new IllegalArgumentException(kind);
    };
  }

  /** Server CPU µs per second with every socket open and nothing sent. */
  private static double idle(Bench b, double seconds) {
    b.phase("idle");
    long c0 = ProcStats.cpuMicros(b.pids), t0 = System.nanoTime();
    Bench.sleep((long) (seconds * 1000));
    long c1 = ProcStats.cpuMicros(b.pids), t1 = System.nanoTime();
    return b.pids.isEmpty() ? 0 : (c1 - c0) / ((t1 - t0) / 1e9);
  }

  /** The kind's steps together: events, deliveries, server and Redis CPU per event. */
  private static Map<String, Object> summary(
      Bench b, List<Map<String, Object>> rows, String kind, double idleMicrosPerSec) {
    long events = 0, received = 0, cpu = 0, redis = 0;
    double elapsed = 0;
    for (Map<String, Object> r : rows) {
      if (!kind.equals(r.get("kind"))) continue;
      events += num(r, kind.equals("message") ? "acked" : "signalsSent");
      received += num(r, "received");
      cpu += num(r, "serverCpuMicros");
      redis += num(r, "redisCpuMicros");
      elapsed += ((Number) r.get("elapsedSec")).doubleValue();
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("events", events);
    m.put("deliveries", received);
    m.put("deliveriesPerEvent", events == 0 ? -1 : round(received / (double) events));
    boolean measured = !b.pids.isEmpty() && events > 0;
    m.put("serverCpuMicrosPerEvent", measured ? round(cpu / (double) events) : -1);
    m.put(
        "serverCpuMicrosPerEventNet",
        measured ? round((cpu - idleMicrosPerSec * elapsed) / events) : -1);
    m.put(
        "serverCpuMicrosPerDelivery",
        measured && received > 0 ? round(cpu / (double) received) : -1);
    m.put(
        "redisCpuMicrosPerEvent",
        b.redisPid > 0 && events > 0 ? round(redis / (double) events) : -1);
    return m;
  }

  private static long num(Map<String, Object> r, String key) {
    return ((Number) r.get(key)).longValue();
  }

  private static double perEvent(Map<String, Object> perKind, String kind) {
    return ((Number) ((Map<?, ?>) perKind.get(kind)).get("serverCpuMicrosPerEventNet"))
        .doubleValue();
  }

  private static long deliveries(Map<String, Object> perKind, String kind) {
    return ((Number) ((Map<?, ?>) perKind.get(kind)).get("deliveries")).longValue();
  }

  private static double ratio(double x, double y) {
    return x < 0 || y <= 0 ? -1 : round(x / y);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
