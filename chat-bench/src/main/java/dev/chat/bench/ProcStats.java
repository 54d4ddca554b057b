package dev.chat.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Server-side measurements read from /proc, jcmd, or a Socket.IO peer's /stats. */
public final class ProcStats {
  private ProcStats() {}

  /** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
  static final long TICKS = 100;

  /** CPU time (user + system) of a process in microseconds, or -1 if it is gone. */
  public static long cpuMicros(long pid) {
    if (pid <= 0) return -1;
    try {
      String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ", -1);
      // After the comm: state is field 3, utime 14, stime 15 (1-based), so indexes 11 and 12.
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      return ticks * 1_000_000 / TICKS;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  public static long cpuMicros(List<Long> pids) {
    long sum = 0;
    for (long p : pids) {
      long c = cpuMicros(p);
      if (c > 0) sum += c;
    }
    return sum;
  }

  /** VmRSS in bytes, or -1. */
  public static long rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  private static final Pattern TOTAL = Pattern.compile("(?m)^Total\\s+\\d+\\s+(\\d+)\\s*$");
  // A row for the JVM's filler objects: dead heap space it formats as arrays, which the histogram
  // lists (and totals) like live objects; seen after the serial collector's full GC on JDK 25.
  private static final Pattern FILLER =
      Pattern.compile("(?m)^\\s*\\d+:\\s+\\d+\\s+(\\d+)\\s+\\S*jdk\\.internal\\.vm\\.Filler\\S*");

  /**
   * Live Java heap bytes, via jcmd of the JVM that runs {@code pid}; -1 when it fails. {@code
   * GC.class_histogram} runs a full GC first and counts every live object, whatever the collector:
   * {@code GC.heap_info}'s first "used" is only the young generation under the serial collector,
   * which a JVM pinned to one core picks.
   */
  public static long jvmHeapUsedAfterGc(long pid) {
    return parseHistogramTotal(run(jcmdFor(pid), String.valueOf(pid), "GC.class_histogram"));
  }

  /**
   * The bytes of the {@code Total <instances> <bytes>} line of a class histogram, less the JVM's
   * filler objects ({@code jdk.internal.vm.FillerElement} arrays): they are dead space, and they
   * came to 2 KB per socket in an idle run with 18,500 sockets.
   */
  public static long parseHistogramTotal(String histogram) {
    if (histogram == null) return -1;
    Matcher m = TOTAL.matcher(histogram);
    if (!m.find()) return -1;
    long total = Long.parseLong(m.group(1));
    Matcher f = FILLER.matcher(histogram);
    while (f.find()) total -= Long.parseLong(f.group(1));
    return total;
  }

  private static String jcmdFor(long pid) {
    try {
      Path exe = Path.of("/proc/" + pid + "/exe").toRealPath();
      Path j = exe.resolveSibling("jcmd");
      if (Files.isExecutable(j)) return j.toString();
    } catch (IOException e) {
      // fall through to JAVA_HOME
    }
    String home = System.getenv("JAVA_HOME");
    if (home != null && Files.isExecutable(Path.of(home, "bin", "jcmd"))) return home + "/bin/jcmd";
    return Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
  }

  private static String run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      p.waitFor(60, TimeUnit.SECONDS);
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /**
   * A Socket.IO peer's {@code /stats} ({@code {"heapUsed":N,"rss":N,"sockets":N}} after a gc), or
   * null.
   */
  public static long[] peerStats(URI wsUrl) {
    try (HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build()) {
      URI u = URI.create("http://" + wsUrl.getHost() + ":" + wsUrl.getPort() + "/stats");
      String body =
          http.send(
                  HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(60)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body();
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      return new long[] {
        FrameScanner.longField(b, 0, b.length, FrameScanner.key("heapUsed"), -1),
        FrameScanner.longField(b, 0, b.length, FrameScanner.key("rss"), -1),
        FrameScanner.longField(b, 0, b.length, FrameScanner.key("sockets"), -1)
      };
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
