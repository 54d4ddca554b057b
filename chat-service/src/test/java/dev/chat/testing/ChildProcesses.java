package dev.chat.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts the child processes of the fixtures so that none outlives the test JVM.
 *
 * <p>Two layers: a shutdown hook kills every live child when the JVM exits normally (tests failed,
 * {@code System.exit}, Ctrl-C); and, where util-linux {@code setpriv} exists, each child runs with
 * {@code PR_SET_PDEATHSIG=SIGKILL}, so the kernel kills it even when the test JVM itself is
 * SIGKILLed (a surefire fork timeout). {@code setpriv} execs the real command, so the child's pid,
 * and what {@link Process#destroyForcibly()} kills, is the real process.
 */
final class ChildProcesses {

  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final Set<AutoCloseable> CONTAINERS = ConcurrentHashMap.newKeySet();

  /*
   * The parent-death signal fires when the *thread* that forked the child ends, not the process.
   * Tests run on short-lived threads (JUnit's @Timeout, Vert.x workers), so every child is forked
   * from this one thread, which lives as long as the JVM.
   */
  private static final ExecutorService SPAWNER =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "fixture-process-spawner");
            t.setDaemon(true);
            return t;
          });

  private static final boolean SETPRIV = onPath("setpriv").isPresent();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  LIVE.forEach(Process::destroyForcibly);
                  for (AutoCloseable c : CONTAINERS) {
                    try {
                      c.close();
                    } catch (Exception ignored) {
                      // best effort at exit; Ryuk reaps what is left
                    }
                  }
                },
                "fixture-process-reaper"));
  }

  private ChildProcesses() {}

  /** Starts {@code builder}'s command as a tracked child, killed with the test JVM. */
  static Process start(ProcessBuilder builder) {
    if (SETPRIV) {
      List<String> command = new ArrayList<>(List.of("setpriv", "--pdeathsig", "KILL", "--"));
      command.addAll(builder.command());
      builder.command(command);
    }
    try {
      Process process = SPAWNER.submit(builder::start).get(30, TimeUnit.SECONDS);
      LIVE.add(process);
      var unused = process.onExit().thenRun(() -> LIVE.remove(process));
      return process;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw new UncheckedIOException("cannot start " + builder.command(), io);
      }
      throw new IllegalStateException("cannot start " + builder.command(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting " + builder.command(), e);
    } catch (TimeoutException e) {
      throw new IllegalStateException("timed out starting " + builder.command(), e);
    }
  }

  /** Kills {@code process} with SIGKILL and waits up to 10 s for it to be gone. */
  static void kill(Process process) {
    process.destroyForcibly();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException("pid " + process.pid() + " survived SIGKILL for 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while killing pid " + process.pid(), e);
    }
  }

  /** Stops {@code container} at JVM exit unless it was closed before. */
  static void track(AutoCloseable container) {
    CONTAINERS.add(container);
  }

  static void untrack(AutoCloseable container) {
    CONTAINERS.remove(container);
  }

  static Optional<Path> onPath(String executable) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, executable);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** The last {@code lines} lines of a log file, or a note why there are none. */
  static String tail(Path file, int lines) {
    try {
      if (!Files.exists(file)) {
        return "(no log at " + file + ")";
      }
      // lossy decoding: a crash dump in the log must not hide the lines before it
      String[] all = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).split("\n", -1);
      int end = all.length > 0 && all[all.length - 1].isEmpty() ? all.length - 1 : all.length;
      return String.join("\n", Arrays.copyOfRange(all, Math.max(0, end - lines), end));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }
}
