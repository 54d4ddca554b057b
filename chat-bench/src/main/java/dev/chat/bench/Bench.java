package dev.chat.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * The context of one run: options, event loops, clients, the progress line, server measurements,
 * and the results document written at the end.
 */
public final class Bench implements AutoCloseable {
  final Options o;
  final Proto proto;
  final String label;
  final List<URI> urls;
  final List<Long> pids;

  /** The first of {@link #redisPids}, or -1. */
  final long redisPid;

  /** Redis' processes (several for a cluster): their CPU is summed. */
  final List<Long> redisPids;

  final Net net;
  final Ledger ledger = new Ledger();
  final Client.Shared shared;
  final Connector connector;
  final List<Client> clients = new ArrayList<>();
  final Map<String, Object> result = new LinkedHashMap<>();
  final String runId = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
  private volatile String phase = "setup";
  private final Thread progress;
  private volatile boolean done;

  Bench(Options o) {
    this.o = o;
    this.proto = Proto.parse(o.str("proto", "ours"));
    this.label = o.str("label", proto == Proto.OURS ? "ours" : "socketio");
    this.urls = o.list("urls", "ws://127.0.0.1:8080").stream().map(URI::create).toList();
    this.pids = o.longs("pids", "");
    this.redisPids = o.longs("redis-pid", "");
    this.redisPid = redisPids.isEmpty() ? -1 : redisPids.get(0);
    this.net =
        new Net(
            o.integer("threads", Math.max(1, Runtime.getRuntime().availableProcessors())),
            o.str("transport", "auto"),
            o.integer("sources", 16));
    AckCadence acks = AckCadence.of(o);
    boolean sioAcks = Boolean.parseBoolean(o.str("sio-acks", "true"));
    this.shared =
        new Client.Shared(
            proto, net, urls, ledger, o.integer("text-bytes", 64), new Stats(), acks, sioAcks);
    this.connector =
        new Connector(
            o.dbl("connect-rate", 5000),
            o.integer("connect-concurrency", 2000),
            o.integer("connect-attempts", 8));
    result.put("scenario", o.scenario);
    result.put("label", label);
    result.put("proto", proto.name().toLowerCase(Locale.ROOT));
    result.put("urls", urls.stream().map(URI::toString).toList());
    result.put("options", o.all());
    result.put(
        "acks",
        Map.of(
            "delayMs", acks.delayMs(),
            "every", acks.every(),
            "socketioAckEvents", proto == Proto.SOCKETIO && sioAcks));
    result.put("startedAt", Instant.now().toString());
    result.put("env", Env.describe(net.epoll));
    progress = Thread.ofPlatform().daemon().name("progress").start(this::progressLoop);
  }

  void phase(String p) {
    phase = p;
  }

  /** One status line per second on stderr. */
  private void progressLoop() {
    long lastRecv = 0, lastCpu = ProcStats.cpuMicros(pids), lastT = System.nanoTime();
    Stats last = null;
    while (!done) {
      try {
        Thread.sleep(1000);
      } catch (InterruptedException e) {
        return;
      }
      Stats s = shared.stats;
      if (s != last) {
        lastRecv = 0;
        last = s;
      }
      long now = System.nanoTime(), recv = s.received.sum(), cpu = ProcStats.cpuMicros(pids);
      double secs = (now - lastT) / 1e9;
      System.err.printf(
          "[%s %s %s] connected=%d sent=%d acked=%d recv/s=%.0f p99=%.1fms server-cpu=%.0f%%%n",
          label,
          o.scenario,
          phase,
          shared.connected.sum(),
          s.sent.sum(),
          s.acked.sum(),
          (recv - lastRecv) / secs,
          s.p99Millis(),
          pids.isEmpty() ? 0 : (cpu - lastCpu) / 1e4 / secs);
      lastRecv = recv;
      lastCpu = cpu;
      lastT = now;
    }
  }

  /** Creates {@code n} clients named {@code prefix<i>} on the url chosen by {@code urlOf}. */
  List<Client> newClients(int n, String prefix, java.util.function.IntUnaryOperator urlOf) {
    List<Client> made = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Client c = new Client(clients.size(), prefix + runId + "x" + i, urlOf.applyAsInt(i), shared);
      clients.add(c);
      made.add(c);
    }
    return made;
  }

  long connect(List<Client> cs) {
    phase("connect");
    long ok = connector.connectAll(cs);
    result.merge("connectFailures", connector.failures.get(), (a, b) -> b);
    result.merge("connectRetries", connector.retries.get(), (a, b) -> b);
    return ok;
  }

  /**
   * Joins each client to its room with at most {@code 2000} joins in flight; returns how many
   * succeeded.
   */
  long joinAll(List<Client> cs, java.util.function.Function<Client, String> roomOf, boolean track) {
    phase("join");
    Semaphore inFlight = new Semaphore(o.integer("connect-concurrency", 2000));
    List<CompletableFuture<Void>> fs = new ArrayList<>();
    for (Client c : cs) {
      inFlight.acquireUninterruptibly();
      CompletableFuture<Void> f = c.join(roomOf.apply(c), track).orTimeout(60, TimeUnit.SECONDS);
      var unused = f.whenComplete((v, e) -> inFlight.release());
      fs.add(f);
    }
    long ok = 0;
    for (CompletableFuture<Void> f : fs) {
      try {
        f.join();
        ok++;
      } catch (RuntimeException e) {
        // counted as a failed join
      }
    }
    return ok;
  }

  /**
   * Runs one open-loop step: {@code rate} messages/s for {@code seconds}, message {@code k} given
   * to {@code publish}; waits up to 3 s for acks and deliveries to drain; returns the step's row.
   */
  Map<String, Object> step(
      String name, double rate, double seconds, BiConsumer<Long, Long> publish) {
    return step(name, rate, seconds, publish, 3000, 200);
  }

  /**
   * {@link #step(String, double, double, BiConsumer)} with its drain: up to {@code drainMs}, until
   * every send is acknowledged and no delivery came for {@code quietMs}.
   */
  Map<String, Object> step(
      String name,
      double rate,
      double seconds,
      BiConsumer<Long, Long> publish,
      long drainMs,
      long quietMs) {
    Stats s = new Stats();
    shared.stats = s;
    phase(name);
    long cpu0 = ProcStats.cpuMicros(pids), r0 = redisCpuMicros(), t0 = System.nanoTime();
    OpenLoop schedule = new OpenLoop(t0 + 5_000_000, rate, seconds);
    schedule.run(publish::accept, () -> false);
    drain(s, drainMs, quietMs);
    long t1 = System.nanoTime(), cpu1 = ProcStats.cpuMicros(pids), r1 = redisCpuMicros();
    return row(s, rate, seconds, (t1 - t0) / 1e9, cpu1 - cpu0, redisPid > 0 ? r1 - r0 : -1);
  }

  /** The CPU time of every Redis process summed, in microseconds; -1 when there is none. */
  long redisCpuMicros() {
    return redisPids.isEmpty() ? -1 : ProcStats.cpuMicros(redisPids);
  }

  /**
   * Waits until every sent message is acknowledged and deliveries stopped growing, at most {@code
   * maxMs}.
   */
  void drain(Stats s, long maxMs) {
    drain(s, maxMs, 200);
  }

  /**
   * {@link #drain(Stats, long)}, deliveries counted as stopped after {@code quietMs} without one.
   */
  void drain(Stats s, long maxMs, long quietMs) {
    long deadline = System.nanoTime() + maxMs * 1_000_000;
    long lastRecv = -1;
    long quietSince = System.nanoTime();
    while (System.nanoTime() < deadline) {
      long recv = s.received.sum();
      long now = System.nanoTime();
      if (recv != lastRecv) quietSince = now;
      if (s.acked.sum() >= s.sent.sum()
          && recv == lastRecv
          && now - quietSince >= quietMs * 1_000_000) {
        break;
      }
      lastRecv = recv;
      sleep(Math.min(200, Math.max(1, quietMs)));
    }
  }

  Map<String, Object> row(
      Stats s, double rate, double seconds, double elapsed, long cpuMicros, long redisMicros) {
    Map<String, Object> m = new LinkedHashMap<>();
    long recv = s.received.sum();
    m.put("rate", rate);
    m.put("seconds", seconds);
    m.put("sent", s.sent.sum());
    m.put("signalsSent", s.signals.sum());
    m.put("acked", s.acked.sum());
    m.put("received", recv);
    m.put("deliveriesPerSec", Math.round(recv / seconds));
    m.put("latencyMs", s.latencyMillis());
    m.put("errors", s.errors.sum());
    m.put("rateLimited", s.rateLimited.sum());
    m.put("unavailable", s.unavailable.sum());
    m.put("rawDuplicates", s.rawDuplicates.sum());
    m.put("elapsedSec", Math.round(elapsed * 100) / 100.0);
    m.put("serverCpuMicros", pids.isEmpty() ? -1 : cpuMicros);
    m.put(
        "serverCpuPercent",
        pids.isEmpty() ? -1 : Math.round(cpuMicros / elapsed / 1e4 * 10) / 10.0);
    m.put(
        "cpuMicrosPerDelivery",
        pids.isEmpty() || recv == 0 ? -1 : Math.round(cpuMicros * 1000.0 / recv) / 1000.0);
    m.put("redisCpuMicros", redisMicros);
    m.put(
        "redisCpuMicrosPerDelivery",
        redisMicros < 0 || recv == 0 ? -1 : Math.round(redisMicros * 1000.0 / recv) / 1000.0);
    System.err.printf(
        "[%s %s] step rate=%.0f/s deliveries/s=%s p50=%sms p99=%sms p99.9=%sms max=%sms cpu/delivery=%sus%n",
        label,
        o.scenario,
        rate,
        m.get("deliveriesPerSec"),
        s.latencyMillis().get("p50"),
        s.latencyMillis().get("p99"),
        s.latencyMillis().get("p999"),
        s.latencyMillis().get("max"),
        m.get("cpuMicrosPerDelivery"));
    return m;
  }

  /** Server memory now: heap (jcmd GC.run + GC.heap_info, or the peer's /stats) and RSS. */
  Map<String, Object> memory(int urlIndex) {
    Map<String, Object> m = new LinkedHashMap<>();
    long pid = urlIndex < pids.size() ? pids.get(urlIndex) : -1;
    if (proto == Proto.OURS) {
      m.put("heapBytes", pid > 0 ? ProcStats.jvmHeapUsedAfterGc(pid) : -1);
      m.put("rssBytes", pid > 0 ? ProcStats.rssBytes(pid) : -1);
    } else {
      long[] st = ProcStats.peerStats(urls.get(urlIndex));
      m.put("heapBytes", st == null ? -1 : st[0]);
      m.put("rssBytes", pid > 0 ? ProcStats.rssBytes(pid) : st == null ? -1 : st[1]);
      m.put("peerSockets", st == null ? -1 : st[2]);
    }
    return m;
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Writes {@code DIR/<scenario>-<label>.json} when {@code --out} is given; returns the path or
   * null.
   */
  Path write() throws IOException {
    String out = o.str("out", null);
    if (out == null) return null;
    Path dir = Path.of(out);
    Files.createDirectories(dir);
    // A scenario run at several sizes (steady) names its case in the file.
    Object c = result.get("case");
    Path file = dir.resolve(o.scenario + (c == null ? "" : "-" + c) + "-" + label + ".json");
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), result);
    System.err.println("wrote " + file);
    return file;
  }

  @Override
  public void close() {
    done = true;
    progress.interrupt();
    shared.closing = true;
    for (Client c : clients) c.close();
    sleep(200);
    net.close();
  }
}
