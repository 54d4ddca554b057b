package dev.chat.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/** The benchmark scenarios; each fills {@link Bench#result} and returns the process exit code. */
final class Scenarios {
  private Scenarios() {}

  /**
   * A few clients in one room, a few sends, acks, one step and a memory reading: every code path,
   * in seconds.
   */
  static int smoke(Bench b) {
    int n = b.o.integer("clients", 4);
    String room = "smoke-" + b.runId;
    List<Client> cs = b.newClients(n, "s", i -> 0);
    long connected = b.connect(cs);
    long joined = b.joinAll(cs, c -> room, true);
    double rate = b.o.dbl("rate", 20);
    Map<String, Object> step =
        b.step(
            "step",
            rate,
            b.o.dbl("step-seconds", 2),
            (k, t) -> cs.get((int) (k % n)).publish(room, t));
    b.net.quiesce();
    Ledger.Verdict v = b.ledger.verify(b.proto == Proto.OURS);
    Map<String, Object> mem = b.memory(0);
    b.result.put("clients", n);
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    b.result.put("steps", List.of(step));
    b.result.put("memory", mem);
    b.result.put("loss", verdict(b, v));
    long received = ((Number) step.get("received")).longValue();
    long lost = v.lostByCounter() + v.lostBySeq();
    boolean ok = received > 0 && lost == 0 && connected == n && joined == n;
    b.result.put("ok", ok);
    System.err.printf(
        "[%s smoke] connected=%d joined=%d received=%d lost=%d -> %s%n",
        b.label, connected, joined, received, lost, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
  }

  static Map<String, Object> verdict(Bench b, Ledger.Verdict v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("members", v.members());
    m.put("ackedMessages", b.ledger.ackedCount());
    m.put("expectedDeliveries", v.expected());
    m.put("lost", v.lostByCounter());
    m.put("lostBySeq", b.proto == Proto.OURS ? v.lostBySeq() : -1);
    m.put("duplicatesDelivered", b.ledger.appDuplicates.sum());
    m.put("duplicatesSuppressed", b.ledger.rawDuplicates.sum());
    m.put("sendsRetried", b.ledger.retriedSends.sum());
    m.put("retriesAnsweredAsDuplicate", b.ledger.serverDuplicateAcks.sum());
    m.put("framesPastAGap", b.proto == Proto.OURS ? b.ledger.gapsResumed.sum() : -1);
    return m;
  }

  /**
   * Idle sockets: the counts are reached incrementally (50k, then 50k more for 100k) on the first
   * url; per-socket figures are (value at count - baseline before any connection) / count.
   */
  static int idle(Bench b) {
    List<Long> counts = b.o.longs("counts", "50000,100000");
    double hold = b.o.dbl("hold-seconds", 30);
    Map<String, Object> base = b.memory(0);
    b.result.put("baseline", base);
    List<Map<String, Object>> rows = new ArrayList<>();
    long have = 0, connected = 0;
    long pid = b.pids.isEmpty() ? -1 : b.pids.get(0);
    for (long count : counts) {
      List<Client> more = b.newClients((int) (count - have), "i", i -> 0);
      connected += b.connect(more);
      have = count;
      b.phase("hold " + count);
      Bench.sleep(2000);
      long c0 = ProcStats.cpuMicros(pid), t0 = System.nanoTime();
      Bench.sleep((long) (hold * 1000));
      long c1 = ProcStats.cpuMicros(pid), t1 = System.nanoTime();
      long open = b.shared.connected.sum();
      b.phase("measure " + count);
      Map<String, Object> mem = b.memory(0);
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("sockets", count);
      r.put("connected", open);
      r.put("connectFailures", b.connector.failures.get());
      r.putAll(mem);
      long heap = (long) mem.get("heapBytes"), rss = (long) mem.get("rssBytes");
      long heap0 = (long) base.get("heapBytes"), rss0 = (long) base.get("rssBytes");
      r.put("heapBytesPerSocket", heap < 0 || heap0 < 0 || open == 0 ? -1 : (heap - heap0) / open);
      r.put("rssBytesPerSocket", rss < 0 || rss0 < 0 || open == 0 ? -1 : (rss - rss0) / open);
      double cpuPerSec = pid > 0 ? (c1 - c0) / ((t1 - t0) / 1e9) : -1;
      r.put("serverCpuMicrosPerSec", Math.round(cpuPerSec));
      r.put(
          "idleCpuMicrosPerSecPerSocket",
          pid > 0 && open > 0 ? Math.round(cpuPerSec / open * 1000) / 1000.0 : -1);
      r.put("disconnectsDuringHold", b.shared.disconnects.sum());
      rows.add(r);
      System.err.println("[" + b.label + " idle] " + r);
    }
    b.result.put("connected", connected);
    b.result.put("steps", rows);
    return 0;
  }

  /** One big room on the first url; the publish rate goes up until p99 passes the limit. */
  static int bigroom(Bench b) {
    int members = b.o.integer("members", 10000);
    int minPublishers = b.o.integer("publishers", 10);
    String room = "big-" + b.runId;
    List<Client> cs = b.newClients(members, "b", i -> 0);
    long connected = b.connect(cs);
    long joined = b.joinAll(cs, c -> room, false);
    b.result.put("members", members);
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    Bench.sleep(1000);
    List<Map<String, Object>> rows =
        stepped(
            b,
            b.o.numbers("rates", "5,10,20,40,60,80,100,150,200"),
            b.o.dbl("stop-p99-ms", 100),
            rate -> {
              int p = (int) Math.min(members, Math.max(minPublishers, Math.ceil(rate / 20)));
              return (k, t) -> cs.get((int) (k % p)).publish(room, t);
            });
    b.result.put("steps", rows);
    b.result.put("best", best(rows, b.o.dbl("stop-p99-ms", 100)));
    b.result.put("peak", best(rows, giveUp(b, b.o.dbl("stop-p99-ms", 100))));
    return 0;
  }

  /** Many small rooms; members of a room alternate between the urls. */
  static int rooms(Bench b) {
    int rooms = b.o.integer("rooms", 2000), members = b.o.integer("members", 10);
    List<Client> cs = b.newClients(rooms * members, "r", i -> (i % members) % b.urls.size());
    long connected = b.connect(cs);
    long joined = b.joinAll(cs, c -> "rm-" + b.runId + "-" + (c.index / members), false);
    b.result.put("rooms", rooms);
    b.result.put("members", members);
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    Bench.sleep(1000);
    double limit = b.o.dbl("stop-p99-ms", 50);
    List<Map<String, Object>> rows =
        stepped(
            b,
            b.o.numbers("rates", "100,200,500,1000,2000,4000,8000,16000"),
            limit,
            rate ->
                (k, t) -> {
                  int r = (int) (k % rooms);
                  int m = (int) ((k / rooms) % members);
                  cs.get(r * members + m).publish("rm-" + b.runId + "-" + r, t);
                });
    b.result.put("steps", rows);
    b.result.put("best", best(rows, limit));
    b.result.put("peak", best(rows, giveUp(b, limit)));
    return 0;
  }

  /** Cross-replica latency: receivers on the second url, one publisher per room on the first. */
  static int latency(Bench b) {
    int rooms = b.o.integer("rooms", 100), receivers = b.o.integer("receivers", 100);
    int recvUrl = b.urls.size() > 1 ? 1 : 0;
    List<Client> pubs = b.newClients(rooms, "lp", i -> 0);
    List<Client> recv = b.newClients(rooms * receivers, "lr", i -> recvUrl);
    for (Client p : pubs) p.measure = false;
    List<Client> all = new ArrayList<>(pubs);
    all.addAll(recv);
    long connected = b.connect(all);
    long joined =
        b.joinAll(pubs, c -> "lat-" + b.runId + "-" + c.index, false)
            + b.joinAll(recv, c -> "lat-" + b.runId + "-" + ((c.index - rooms) / receivers), false);
    b.result.put("rooms", rooms);
    b.result.put("receiversPerRoom", receivers);
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    Bench.sleep(1000);
    List<Map<String, Object>> rows = new ArrayList<>();
    List<Double> loads = b.o.numbers("loads", "10000,50000,100000");
    java.util.function.BiConsumer<Long, Long> publish =
        (k, t) -> {
          Client p = pubs.get((int) (k % rooms));
          p.publish("lat-" + b.runId + "-" + p.index, t);
        };
    double warmup = b.o.dbl("warmup-seconds", 5);
    if (warmup > 0 && !loads.isEmpty()) {
      // Not recorded, as in the stepped scenarios: both JITs settle before the first measured load.
      b.step("warmup", loads.get(0) / receivers, warmup, publish);
    }
    for (double load : loads) {
      // Each message reaches the room's receivers: load deliveries/s = rate * receivers.
      double rate = load / receivers;
      Map<String, Object> row =
          b.step("load " + (long) load, rate, b.o.dbl("step-seconds", 10), publish);
      row.put("load", load);
      rows.add(row);
    }
    b.result.put("steps", rows);
    return 0;
  }

  /**
   * A node killed under load: clients of the dead url reconnect to the others after 0-1 s of
   * jitter, resume (ours: epoch + since; Socket.IO: join again) and send their unacknowledged
   * messages again with the same ids.
   */
  static int storm(Bench b) {
    int n = b.o.integer("clients", 20000), size = b.o.integer("room-size", 10);
    int rooms = Math.max(1, n / size);
    long killPid = b.o.lng("kill-pid", -1);
    int killedUrl = b.pids.indexOf(killPid);
    List<Client> cs = b.newClients(rooms * size, "st", i -> i % b.urls.size());
    b.shared.reconnect = true;
    long connected = b.connect(cs);
    long joined = b.joinAll(cs, c -> "st-" + b.runId + "-" + (c.index / size), true);
    b.result.put("clients", cs.size());
    b.result.put("roomSize", size);
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    ConcurrentLinkedQueue<Long> rejoins = new ConcurrentLinkedQueue<>();
    b.shared.onRejoined = () -> rejoins.add(System.nanoTime());
    double before = b.o.dbl("before-seconds", 10), after = b.o.dbl("after-seconds", 20);
    double rate = b.o.dbl("rate", 1000);
    Stats s = new Stats();
    b.shared.stats = s;
    List<Long> survivors = new ArrayList<>(b.pids);
    survivors.remove(killPid);
    long cpu0 = ProcStats.cpuMicros(b.pids),
        killed0 = ProcStats.cpuMicros(killPid),
        t0 = System.nanoTime();
    OpenLoop schedule = new OpenLoop(t0 + 5_000_000, rate, before + after);
    Thread publisher =
        Thread.ofPlatform()
            .name("publisher")
            .start(
                () ->
                    schedule.run(
                        (k, t) -> {
                          Client c = cs.get((int) ((k * 7919) % cs.size()));
                          c.publish("st-" + b.runId + "-" + (c.index / size), t);
                        },
                        () -> false));
    b.phase("before kill");
    // The last seconds before the kill give the steady cost of the message load, so the recovery's
    // CPU can also be counted net of it (the survivors carry that load on top of the resumes).
    double window = Math.min(3, before / 2);
    Bench.sleep((long) ((before - window) * 1000));
    long steady0 = ProcStats.cpuMicros(b.pids), steadyT0 = System.nanoTime();
    Bench.sleep((long) (window * 1000));
    double steadyPerSec =
        (ProcStats.cpuMicros(b.pids) - steady0) / ((System.nanoTime() - steadyT0) / 1e9);
    long affected = killedUrl < 0 ? 0 : cs.stream().filter(c -> c.urlIndex() == killedUrl).count();
    Map<String, Object> storm = new LinkedHashMap<>();
    storm.put("killPid", killPid);
    storm.put("affectedClients", affected);
    long killedCpu = Math.max(0, ProcStats.cpuMicros(killPid) - killed0);
    long killAt = System.nanoTime();
    // Wall-clock marks of the recovery window, for a profile's window (bench/profile.sh).
    storm.put("killAtEpochMs", System.currentTimeMillis());
    long cpuK = ProcStats.cpuMicros(survivors);
    boolean killed =
        killPid > 0 && ProcessHandle.of(killPid).map(ProcessHandle::destroyForcibly).orElse(false);
    storm.put("killed", killed);
    b.phase("recovering");
    long t99 = -1, cpu99 = -1;
    long deadline = killAt + (long) (after * 1e9);
    while (System.nanoTime() < deadline && affected > 0) {
      if (rejoins.size() >= Math.ceil(affected * 0.99)) {
        t99 = System.nanoTime();
        cpu99 = ProcStats.cpuMicros(survivors);
        storm.put("rejoined99EpochMs", System.currentTimeMillis());
        break;
      }
      Bench.sleep(20);
    }
    b.phase("after kill");
    try {
      publisher.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    b.phase("drain");
    b.drain(s, 10_000);
    // The killed node's CPU counts up to its death; the survivors' for the whole run.
    long t1 = System.nanoTime(),
        cpu1 = ProcStats.cpuMicros(survivors) + killedCpu + (killed0 > 0 ? killed0 : 0);
    b.net.quiesce();
    Ledger.Verdict v = b.ledger.verify(b.proto == Proto.OURS);
    storm.put("rejoined", rejoins.size());
    storm.put("msTo99PctRejoined", t99 < 0 ? -1 : Math.round((t99 - killAt) / 1e5) / 10.0);
    storm.put(
        "resumesPerSec",
        t99 < 0 ? -1 : Math.round(Math.ceil(affected * 0.99) / ((t99 - killAt) / 1e9)));
    long cpuRecovery = cpu99 - cpuK;
    storm.put("survivorCpuMicrosDuringRecovery", t99 < 0 ? -1 : cpuRecovery);
    storm.put(
        "resumesPerCpuSecond",
        t99 < 0 || cpuRecovery <= 0
            ? -1
            : Math.round(Math.ceil(affected * 0.99) / (cpuRecovery / 1e6)));
    long steadyDuring = t99 < 0 ? 0 : Math.round(steadyPerSec * ((t99 - killAt) / 1e9));
    long cpuNet = cpuRecovery - steadyDuring;
    storm.put("steadyCpuMicrosPerSecBeforeKill", Math.round(steadyPerSec));
    storm.put(
        "resumesPerNetCpuSecond",
        t99 < 0 || cpuNet <= 0 ? -1 : Math.round(Math.ceil(affected * 0.99) / (cpuNet / 1e6)));
    b.result.put("storm", storm);
    b.result.put("loss", verdict(b, v));
    Map<String, Object> row = b.row(s, rate, before + after, (t1 - t0) / 1e9, cpu1 - cpu0, -1);
    b.result.put("steps", List.of(row));
    System.err.println("[" + b.label + " storm] " + storm + " " + b.result.get("loss"));
    return 0;
  }

  /**
   * A fixed load, as chat apps run: {@code --members} in one room spread over the urls, {@code
   * --rate} msg/s from {@code --publishers} members, from the first message on for {@code
   * --warmup-seconds} plus {@code --measure-seconds}. Two windows are measured: the cold first
   * {@code --cold-seconds} (the servers' JIT still compiling: a node just rolled out or restarted)
   * and the warm {@code --measure-seconds} after the warm-up; server CPU is counted per replica and
   * for Redis over the same wall-clock windows.
   */
  static int steady(Bench b) {
    int members = b.o.integer("members", 500);
    double rate = b.o.dbl("rate", 40);
    int publishers = Math.max(1, Math.min(members, b.o.integer("publishers", 1)));
    double cold = b.o.dbl("cold-seconds", 10),
        warmup = b.o.dbl("warmup-seconds", 40),
        measure = b.o.dbl("measure-seconds", 60);
    if (cold <= 0 || warmup < cold || measure <= 0) {
      System.err.println(
          "steady needs 0 < --cold-seconds <= --warmup-seconds and --measure-seconds > 0");
      return 2;
    }
    String room = "steady-" + b.runId;
    List<Client> cs = b.newClients(members, "sd", i -> i % b.urls.size());
    long connected = b.connect(cs);
    long joined = b.joinAll(cs, c -> room, true);
    b.result.put("case", b.o.str("case", members + "x" + Math.round(rate)));
    b.result.put("members", members);
    b.result.put("rate", rate);
    b.result.put("publishers", publishers);
    b.result.put("loadDeliveriesPerSec", Math.round(rate * members));
    b.result.put("replicas", b.urls.size());
    b.result.put("connected", connected);
    b.result.put("joined", joined);
    Bench.sleep(1000);

    List<Stats> all = new ArrayList<>();
    Stats coldStats = new Stats();
    all.add(coldStats);
    b.shared.stats = coldStats;
    Window w0 = Window.now(b);
    long t0 = w0.nanos;
    OpenLoop schedule = new OpenLoop(t0 + 5_000_000, rate, warmup + measure);
    Thread publisher =
        Thread.ofPlatform()
            .name("publisher")
            .start(
                () ->
                    schedule.run(
                        (k, t) -> cs.get((int) (k % publishers)).publish(room, t), () -> false));
    b.phase("cold");
    parkUntil(t0 + (long) (cold * 1e9));
    Stats settle = new Stats();
    all.add(settle);
    b.shared.stats = settle;
    Window w1 = Window.now(b);
    b.phase("warm-up");
    parkUntil(t0 + (long) (warmup * 1e9));
    Stats warmStats = new Stats();
    all.add(warmStats);
    b.shared.stats = warmStats;
    Window w2 = Window.now(b);
    // Wall-clock marks of the warm window, for a profile's window (bench/profile.sh).
    b.result.put("warmFromEpochMs", System.currentTimeMillis());
    b.phase("warm");
    try {
      publisher.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    parkUntil(t0 + 5_000_000 + (long) ((warmup + measure) * 1e9));
    Stats drain = new Stats();
    all.add(drain);
    b.shared.stats = drain;
    Window w3 = Window.now(b);
    b.result.put("warmToEpochMs", System.currentTimeMillis());
    b.phase("drain");
    // Until every send is acknowledged (over all windows) and deliveries stopped growing.
    long deadline = System.nanoTime() + 10_000_000_000L, lastRecv = -1;
    while (System.nanoTime() < deadline) {
      long sent = all.stream().mapToLong(x -> x.sent.sum()).sum();
      long acked = all.stream().mapToLong(x -> x.acked.sum()).sum();
      long recv = drain.received.sum();
      if (acked >= sent && recv == lastRecv) break;
      lastRecv = recv;
      Bench.sleep(200);
    }
    b.net.quiesce();
    Ledger.Verdict v = b.ledger.verify(b.proto == Proto.OURS);
    Map<String, Object> coldRow = w0.row(b, "cold", coldStats, rate, w1);
    Map<String, Object> warmRow = w2.row(b, "warm", warmStats, rate, w3);
    b.result.put("cold", coldRow);
    b.result.put("warm", warmRow);
    b.result.put("steps", List.of(coldRow, warmRow));
    b.result.put("sentTotal", all.stream().mapToLong(x -> x.sent.sum()).sum());
    b.result.put("ackedTotal", all.stream().mapToLong(x -> x.acked.sum()).sum());
    b.result.put("loss", verdict(b, v));
    System.err.println("[" + b.label + " steady] " + b.result.get("loss"));
    return 0;
  }

  private static void parkUntil(long nanos) {
    long wait;
    while ((wait = nanos - System.nanoTime()) > 0)
      java.util.concurrent.locks.LockSupport.parkNanos(wait);
  }

  /** CPU readings of every replica and of Redis at one instant. */
  @SuppressWarnings("ArrayRecordComponent") // a sample, never compared or hashed
  private record Window(long nanos, long[] replicaCpu, long redisCpu) {
    static Window now(Bench b) {
      long[] cpu = new long[b.pids.size()];
      for (int i = 0; i < cpu.length; i++) cpu[i] = ProcStats.cpuMicros(b.pids.get(i));
      return new Window(System.nanoTime(), cpu, b.redisCpuMicros());
    }

    /** The row of the window from this reading to {@code end}, its deliveries in {@code s}. */
    Map<String, Object> row(Bench b, String name, Stats s, double rate, Window end) {
      double secs = (end.nanos - nanos) / 1e9;
      List<Long> byReplica = new ArrayList<>();
      long server = 0;
      for (int i = 0; i < replicaCpu.length; i++) {
        long d =
            replicaCpu[i] < 0 || end.replicaCpu[i] < 0 ? -1 : end.replicaCpu[i] - replicaCpu[i];
        byReplica.add(d);
        if (d > 0) server += d;
      }
      long redis =
          b.redisPid > 0 && redisCpu >= 0 && end.redisCpu >= 0 ? end.redisCpu - redisCpu : -1;
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("window", name);
      m.putAll(b.row(s, rate, secs, secs, server, redis));
      m.put("seconds", Math.round(secs * 100) / 100.0);
      m.put("serverCpuMicrosByReplica", byReplica);
      long recv = s.received.sum();
      m.put(
          "serverAndRedisCpuMicrosPerDelivery",
          b.pids.isEmpty() || recv == 0
              ? -1
              : Math.round((server + Math.max(0, redis)) * 1000.0 / recv) / 1000.0);
      return m;
    }
  }

  interface RateStep {
    java.util.function.BiConsumer<Long, Long> publisher(double rate);
  }

  /**
   * Steps the rate up. Past the p99 limit it goes on while the server still keeps up (p99 within
   * {@code --give-up-p99-ms}, 1000 by default: an open-loop step the server cannot sustain sees its
   * latency grow for the whole step), so a run finds both the best rate within the limit and the
   * peak sustained rate. A big room's fan-out alone can take longer than the limit at any rate.
   */
  static List<Map<String, Object>> stepped(
      Bench b, List<Double> rates, double stopP99, RateStep plan) {
    List<Map<String, Object>> rows = new ArrayList<>();
    double warmup = b.o.dbl("warmup-seconds", 5);
    double giveUp = giveUp(b, stopP99);
    // Not recorded: lets both JITs (ours and the generator's) settle before the first measured
    // step.
    if (warmup > 0 && !rates.isEmpty())
      b.step("warmup", rates.get(0), warmup, plan.publisher(rates.get(0)));
    for (double rate : rates) {
      Map<String, Object> row =
          b.step("rate " + (long) rate, rate, b.o.dbl("step-seconds", 10), plan.publisher(rate));
      rows.add(row);
      double p99 = ((Number) ((Map<?, ?>) row.get("latencyMs")).get("p99")).doubleValue();
      if (p99 > giveUp) break;
    }
    return rows;
  }

  /** The p99 past which stepping stops: an open-loop step the server could not sustain. */
  static double giveUp(Bench b, double stopP99) {
    return Math.max(stopP99, b.o.dbl("give-up-p99-ms", 1000));
  }

  /** The step with the most deliveries/s whose p99 stayed within the limit. */
  static Map<String, Object> best(List<Map<String, Object>> rows, double limit) {
    Map<String, Object> best = null;
    for (Map<String, Object> r : rows) {
      double p99 = ((Number) ((Map<?, ?>) r.get("latencyMs")).get("p99")).doubleValue();
      if (p99 > limit || ((Number) r.get("received")).longValue() == 0) continue;
      if (best == null
          || ((Number) r.get("deliveriesPerSec")).longValue()
              > ((Number) best.get("deliveriesPerSec")).longValue()) best = r;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("p99LimitMs", limit);
    m.put("deliveriesPerSec", best == null ? 0 : best.get("deliveriesPerSec"));
    m.put("cpuMicrosPerDelivery", best == null ? -1 : best.get("cpuMicrosPerDelivery"));
    m.put("rate", best == null ? 0 : best.get("rate"));
    m.put("p99Ms", best == null ? -1.0 : ((Map<?, ?>) best.get("latencyMs")).get("p99"));
    return m;
  }
}
