package dev.chat.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * The CPU samples of one JFR file within a time window, summed by thread group, by kind of work
 * (system calls, the JIT, the collector, the Redis client, our own code) and by method.
 *
 * <p>Reads {@code jdk.ExecutionSample} events, from JFR itself or from async-profiler's {@code jfr}
 * output, whose stacks also hold the kernel's and the JVM's own frames (bench/profile.sh {@code
 * --profiler async}). A window is what JFR's own views cannot give: storm's recovery, from the kill
 * to 99% resumed, against the seconds before the kill.
 */
final class ProfileWindow {

  /**
   * Kinds of work, each a set of frames any of which puts a sample in it (so they overlap): a
   * sample in {@code tcp_sendmsg} under {@code __sys_sendto} is a send.
   */
  static final Map<String, Set<String>> KINDS = new LinkedHashMap<>();

  static {
    KINDS.put("system calls (all)", Set.of("do_syscall_64"));
    KINDS.put("  send/write", Set.of("__sys_sendto", "ksys_write", "do_writev", "__sys_sendmsg"));
    KINDS.put("  recv/read", Set.of("__sys_recvfrom", "ksys_read", "do_readv", "__sys_recvmsg"));
    KINDS.put("  epoll_wait", Set.of("do_epoll_wait"));
    KINDS.put("  accept", Set.of("__sys_accept4", "do_accept"));
    KINDS.put("  of which the peer's receive (softirq)", Set.of("net_rx_action"));
    KINDS.put("C2/C1 compiling", Set.of("CompileBroker::compiler_thread_loop"));
    KINDS.put(
        "VM thread and GC workers (collections)", Set.of("VMThread::run", "WorkerThread::run"));
  }

  /** Package prefixes counted inclusively: where a sample's Java frames came from. */
  static final List<String> PACKAGES =
      List.of(
          "dev.chat.",
          "dev.chat.bench.floor.",
          "io.vertx.redis.",
          "io.vertx.core.http.",
          "io.netty.handler.codec.http.",
          "com.fasterxml.jackson.");

  record Summary(
      long samples,
      Map<String, Long> threads,
      Map<String, Long> kinds,
      Map<String, Long> packages,
      Map<String, Long> packagesOutsideSyscalls,
      Map<String, Long> leaves,
      Map<String, Long> self,
      Map<String, Long> inclusive,
      Map<Long, Long> perSecond) {}

  private ProfileWindow() {}

  static Summary read(Path file, long fromMs, long toMs) throws IOException {
    Map<String, Long> threads = new HashMap<>(), kinds = new LinkedHashMap<>();
    Map<String, Long> packages = new LinkedHashMap<>(), self = new HashMap<>();
    Map<String, Long> outside = new LinkedHashMap<>(), leaves = new HashMap<>();
    Map<String, Long> inclusive = new HashMap<>();
    Map<Long, Long> perSecond = new java.util.TreeMap<>();
    KINDS.keySet().forEach(k -> kinds.put(k, 0L));
    PACKAGES.forEach(p -> packages.put(p, 0L));
    PACKAGES.forEach(p -> outside.put(p, 0L));
    long n = 0;
    try (RecordingFile rf = new RecordingFile(file)) {
      while (rf.hasMoreEvents()) {
        RecordedEvent e = rf.readEvent();
        if (!e.getEventType().getName().equals("jdk.ExecutionSample")) {
          continue;
        }
        long ms = e.getStartTime().toEpochMilli();
        perSecond.merge(ms / 1000, 1L, Long::sum);
        if (ms < fromMs || ms > toMs) {
          continue;
        }
        n++;
        threads.merge(group(e.getThread("sampledThread")), 1L, Long::sum);
        RecordedStackTrace st = e.getStackTrace();
        if (st == null || st.getFrames().isEmpty()) {
          continue;
        }
        List<RecordedFrame> frames = st.getFrames();
        self.merge(name(frames.get(0)), 1L, Long::sum);
        leaves.merge(leaf(frames), 1L, Long::sum);
        Set<String> names = new HashSet<>();
        for (RecordedFrame f : frames) {
          names.add(name(f));
        }
        for (String s : names) {
          inclusive.merge(s, 1L, Long::sum);
        }
        for (Map.Entry<String, Set<String>> k : KINDS.entrySet()) {
          if (k.getValue().stream()
              .anyMatch(f -> names.contains(f) || names.contains("libjvm.so." + f))) {
            kinds.merge(k.getKey(), 1L, Long::sum);
          }
        }
        boolean inSyscall = names.contains("do_syscall_64");
        for (String p : PACKAGES) {
          if (names.stream().anyMatch(s -> s.startsWith(p))) {
            packages.merge(p, 1L, Long::sum);
            if (!inSyscall) {
              outside.merge(p, 1L, Long::sum);
            }
          }
        }
      }
    }
    return new Summary(n, threads, kinds, packages, outside, leaves, self, inclusive, perSecond);
  }

  // async-profiler marks its native and JVM frames as Java frames too: the frame type tells.
  private static final Set<String> JAVA_FRAMES =
      Set.of("Interpreted", "JIT compiled", "Inlined", "C1 compiled");

  /**
   * Where a sample's CPU was spent: the kernel, the JVM's own code, a native library, or the
   * package of the top Java frame (its first three names), which a sample in a JDK intrinsic or a
   * stub counts under.
   */
  static String leaf(List<RecordedFrame> frames) {
    String top = frames.get(0).getType();
    if ("Kernel".equals(top)) {
      return "kernel";
    }
    for (RecordedFrame f : frames) {
      if (JAVA_FRAMES.contains(f.getType())) {
        String name = name(f);
        int dot = -1;
        for (int k = 0; k < 3; k++) {
          int next = name.indexOf('.', dot + 1);
          if (next < 0) {
            return name;
          }
          dot = next;
        }
        return name.substring(0, dot);
      }
      if (!"Native".equals(f.getType()) && !"C++".equals(f.getType())) {
        break;
      }
    }
    return "C++".equals(top) ? "JVM (C++)" : "native, no Java frame";
  }

  /** Event loops, the JIT's compiler threads, the collector's threads, or the thread's own name. */
  static String group(RecordedThread t) {
    String name = t == null ? "" : t.getJavaName() != null ? t.getJavaName() : t.getOSName();
    if (name == null) {
      return "?";
    }
    if (name.startsWith("vert.x-eventloop") || name.startsWith("multiThreadIoEventLoopGroup")) {
      return "event loops";
    }
    if (name.startsWith("C2 Compiler") || name.startsWith("C1 Compiler")) {
      return "JIT compilers";
    }
    if (name.equals("VM Thread") || name.startsWith("GC Thread") || name.startsWith("G1 ")) {
      return "collector (VM Thread, GC threads)";
    }
    return name.replaceAll("-?\\d+$", "");
  }

  static String name(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    if (m == null) {
      return "?";
    }
    String type = m.getType() == null ? "" : m.getType().getName();
    return type.isEmpty() ? m.getName() : type + "." + m.getName();
  }

  static void print(Summary s, int top, PrintStream out) {
    out.println("samples: " + s.samples());
    section(out, "by thread", s.threads(), s.samples(), 12, true);
    section(out, "by kind of work (a sample may be in several)", s.kinds(), s.samples(), 99, false);
    section(out, "Java frames by package (inclusive)", s.packages(), s.samples(), 99, false);
    section(
        out,
        "the same, outside system calls (the package's own work and what it calls in user space)",
        s.packagesOutsideSyscalls(),
        s.samples(),
        99,
        false);
    section(
        out,
        "where the CPU was: kernel, JVM, or the top Java frame's package",
        s.leaves(),
        s.samples(),
        25,
        true);
    section(out, "self (leaf frame)", s.self(), s.samples(), top, true);
    section(out, "inclusive", s.inclusive(), s.samples(), top * 2, true);
  }

  /** {@code byCount}: largest first; else in the map's own order (the declared kinds, packages). */
  private static void section(
      PrintStream out, String title, Map<String, Long> m, long n, int top, boolean byCount) {
    out.println("== " + title);
    var entries =
        byCount
            ? m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
            : m.entrySet().stream();
    entries
        .limit(top)
        .forEach(
            e ->
                out.printf(
                    "%6.2f%% %7d  %s%n",
                    n == 0 ? 0 : 100.0 * e.getValue() / n, e.getValue(), e.getKey()));
  }

  /**
   * {@code profile-window --file F [--from EPOCH_MS] [--to EPOCH_MS] [--top N] [--per-second
   * true]}; 1 when the file cannot be read.
   */
  static int run(Options o) {
    Path file = Path.of(o.str("file", ""));
    Summary s;
    try {
      s = read(file, o.lng("from", Long.MIN_VALUE), o.lng("to", Long.MAX_VALUE));
    } catch (IOException e) {
      // A JVM killed while recording leaves its last chunk unfinished.
      System.err.println("cannot read " + file + " as a JFR recording: " + e);
      return 1;
    }
    if (o.str("per-second", "false").equals("true")) {
      s.perSecond().forEach((sec, c) -> System.out.println(sec + " " + c));
      return 0;
    }
    print(s, o.integer("top", 30), System.out);
    return 0;
  }
}
