package dev.chat.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * A throwaway Redis for one test class: a {@code redis:7.0-alpine} container when a Docker engine
 * answers, otherwise a {@code redis-server} child process; without persistence either way, so
 * {@link #kill()} loses the data, as a crashed broker would.
 *
 * <p>The port is chosen once and kept across {@link #restart()}, so clients configured with {@link
 * #uri()} reconnect to the new instance. System property {@code chat.test.redis} = {@code docker}
 * or {@code process} forces a variant (default {@code auto}).
 *
 * <p>{@link #startWithSnapshots()} runs a {@code redis-server} process that keeps an RDB file in
 * its own directory: {@link #save()} writes it, and {@link #restart()} after {@link #kill()} loads
 * it, as a Redis that crashed and restarted from an older snapshot would.
 */
public final class RedisServer implements AutoCloseable {

  static final String IMAGE = "redis:7.0-alpine";
  private static final Duration PROCESS_READY_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration CONTAINER_READY_TIMEOUT = Duration.ofMinutes(2);

  /** One way of running a Redis on a fixed host port. */
  private interface Backend {
    void start(int port);

    void kill();

    boolean isAlive();

    String host();

    String describe(int port);

    Duration readyTimeout();
  }

  private final Backend backend;
  private final int port;
  private boolean closed;

  private RedisServer(Backend backend, int port) {
    this.backend = backend;
    this.port = port;
  }

  /** Starts a Redis and waits until it answers PING. */
  public static RedisServer start() {
    String mode = System.getProperty("chat.test.redis", "auto").toLowerCase(Locale.ROOT);
    Optional<Path> executable = ChildProcesses.onPath("redis-server");
    boolean docker =
        switch (mode) {
          case "docker" -> true;
          case "process" -> false;
          case "auto" -> Docker.available();
          default ->
              throw new IllegalArgumentException(
                  "chat.test.redis must be auto, docker or process, not " + mode);
        };
    if (docker) {
      try {
        return startOn(new Docker(), Ports.freePort());
      } catch (RuntimeException e) {
        // an engine that answers may still fail to pull or run the image (offline CI)
        if (!mode.equals("auto") || executable.isEmpty()) {
          throw e;
        }
        System.err.println("[RedisServer] " + IMAGE + " failed, using redis-server instead: " + e);
      }
    }
    if (executable.isEmpty()) {
      throw new IllegalStateException(
          "need a Docker engine or redis-server on PATH to run Redis for the tests");
    }
    // the free port may be taken between probing and binding; redis-server then exits at once
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        return startOn(new ChildProcess(executable.get(), null, List.of()), Ports.freePort());
      } catch (IllegalStateException e) {
        last = e;
      }
    }
    throw last;
  }

  /**
   * Starts a {@code redis-server} process that saves only on {@link #save()} (no automatic saves,
   * no AOF) to a fresh directory, and loads that snapshot again on every {@link #restart()}.
   */
  public static RedisServer startWithSnapshots() {
    Path executable =
        ChildProcesses.onPath("redis-server")
            .orElseThrow(() -> new IllegalStateException("need redis-server on PATH"));
    Path dir;
    try {
      Files.createDirectories(Path.of("target"));
      dir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "redis-data-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        return startOn(
            new ChildProcess(
                executable, null, List.of("--dir", dir.toString(), "--dbfilename", "dump.rdb")),
            Ports.freePort());
      } catch (IllegalStateException e) {
        last = e;
      }
    }
    throw last;
  }

  /**
   * A {@code redis-server} child process on {@code port}, always a process (cluster and sentinel
   * fixtures need options the container variant does not take): {@code config} (or null) is the
   * config file, which must come first ({@code --sentinel} needs one); {@code args} are further
   * options. {@link #restart()} runs the same command, so a node keeps its {@code nodes.conf} or
   * sentinel state in the directory its options name.
   */
  public static RedisServer process(int port, Path config, List<String> args) {
    Path executable =
        ChildProcesses.onPath("redis-server")
            .orElseThrow(() -> new IllegalStateException("redis-server is not on PATH"));
    return startOn(new ChildProcess(executable, config, args), port);
  }

  /**
   * A {@code redis-server} process inside {@code host}'s network namespace ({@link NetNamespaces}),
   * listening on the host's address (and the namespace's own loopback) with protected mode off, so
   * other hosts and the test JVM reach it at {@link #host()}. Otherwise as {@link #process}.
   */
  public static RedisServer process(
      NetNamespaces.Host host, int port, Path config, List<String> args) {
    Path executable =
        ChildProcesses.onPath("redis-server")
            .orElseThrow(() -> new IllegalStateException("redis-server is not on PATH"));
    List<String> all = new ArrayList<>(List.of("--bind", host.address(), "127.0.0.1"));
    all.addAll(List.of("--protected-mode", "no"));
    all.addAll(args);
    return startOn(new ChildProcess(executable, config, all, host.exec(), host.address()), port);
  }

  private static RedisServer startOn(Backend backend, int port) {
    RedisServer server = new RedisServer(backend, port);
    server.launch();
    return server;
  }

  private void launch() {
    backend.start(port);
    long deadline = System.nanoTime() + backend.readyTimeout().toNanos();
    while (true) {
      try (RespClient client = RespClient.connect(backend.host(), port)) {
        if ("PONG".equals(client.call("PING"))) {
          return;
        }
      } catch (RuntimeException notYet) {
        // not listening yet, or loading
      }
      if (!backend.isAlive()) {
        throw new IllegalStateException(
            "redis exited before answering PING: " + backend.describe(port));
      }
      if (System.nanoTime() > deadline) {
        backend.kill();
        throw new IllegalStateException(
            "redis did not answer PING within "
                + backend.readyTimeout()
                + ": "
                + backend.describe(port));
      }
      sleep(Duration.ofMillis(50));
    }
  }

  /** {@code redis://host:port}, for {@code CHAT_REDIS_URL}. */
  public String uri() {
    return "redis://" + backend.host() + ":" + port;
  }

  public int port() {
    return port;
  }

  public String host() {
    return backend.host();
  }

  public boolean isAlive() {
    return backend.isAlive();
  }

  /** Kills Redis at once (SIGKILL, or removes the container): clients see the connection drop. */
  public synchronized void kill() {
    backend.kill();
  }

  /** Writes the dataset to disk now ({@code SAVE}); a later {@link #restart()} loads it. */
  public void save() {
    try (RespClient client = client()) {
      Object reply = client.call("SAVE");
      if (!"OK".equals(reply)) {
        throw new IllegalStateException("SAVE answered " + reply);
      }
    }
  }

  /**
   * Starts a new Redis on the same port (killing the current one if it runs): empty, or, if started
   * with {@link #startWithSnapshots()}, loaded from the last {@link #save()}.
   */
  public synchronized void restart() {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (backend.isAlive()) {
      backend.kill();
    }
    launch();
  }

  /** A new connection to this Redis; the caller closes it. */
  public RespClient client() {
    return RespClient.connect(backend.host(), port);
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      backend.kill();
    }
  }

  @Override
  public String toString() {
    return backend.describe(port);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * {@code redis-server} as a child of the test JVM, logging to {@code target/redis-<port>.log}.
   */
  private static final class ChildProcess implements Backend {
    private final Path executable;
    private final Path config;
    private final List<String> args;
    private final List<String> prefix;
    private final String host;
    private Process process;
    private Path log;

    ChildProcess(Path executable, Path config, List<String> args) {
      this(executable, config, args, List.of(), "127.0.0.1");
    }

    /**
     * {@code prefix} runs the command elsewhere (a namespace); {@code host} is where it answers.
     */
    ChildProcess(
        Path executable, Path config, List<String> args, List<String> prefix, String host) {
      this.executable = executable;
      this.config = config;
      this.args = List.copyOf(args);
      this.prefix = List.copyOf(prefix);
      this.host = host;
    }

    @Override
    public void start(int port) {
      String where = host.equals("127.0.0.1") ? "" : host + "-";
      log = Path.of("target", "redis-" + where + port + ".log").toAbsolutePath();
      try {
        Files.createDirectories(log.getParent());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      List<String> command = new ArrayList<>(prefix);
      command.add(executable.toString());
      if (config != null) {
        command.add(config.toString());
      }
      command.addAll(
          List.of(
              "--save",
              "",
              "--appendonly",
              "no",
              "--bind",
              "127.0.0.1",
              "--port",
              Integer.toString(port),
              "--daemonize",
              "no"));
      command.addAll(args);
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(Redirect.appendTo(log.toFile()));
      process = ChildProcesses.start(builder);
    }

    @Override
    public void kill() {
      if (process != null) {
        ChildProcesses.kill(process);
      }
    }

    @Override
    public boolean isAlive() {
      return process != null && process.isAlive();
    }

    @Override
    public String host() {
      return host;
    }

    @Override
    public Duration readyTimeout() {
      return PROCESS_READY_TIMEOUT;
    }

    @Override
    public String describe(int port) {
      String state =
          process == null
              ? "not started"
              : process.isAlive() ? "pid " + process.pid() : "exited " + process.exitValue();
      return "redis-server on "
          + host
          + ":"
          + port
          + " ("
          + state
          + "), log "
          + log
          + ":\n"
          + ChildProcesses.tail(log, 20);
    }
  }

  /**
   * {@value #IMAGE} under Testcontainers. A fixed host port binding (instead of Docker's random
   * one) keeps {@link #uri()} valid across {@link #restart()}, which runs a new container.
   */
  private static final class Docker implements Backend {
    private RedisContainer container;

    static boolean available() {
      try {
        return DockerClientFactory.instance().isDockerAvailable();
      } catch (Throwable e) {
        return false;
      }
    }

    @Override
    public void start(int port) {
      container = new RedisContainer(port);
      ChildProcesses.track(container);
      container.start();
    }

    @Override
    public void kill() {
      if (container != null) {
        container.stop();
        ChildProcesses.untrack(container);
      }
    }

    @Override
    public boolean isAlive() {
      return container != null && container.isRunning();
    }

    @Override
    public String host() {
      // "localhost" may resolve to ::1 first; the service under test should not depend on that
      String host = container == null ? "127.0.0.1" : container.getHost();
      return "localhost".equals(host) ? "127.0.0.1" : host;
    }

    @Override
    public Duration readyTimeout() {
      return CONTAINER_READY_TIMEOUT;
    }

    @Override
    public String describe(int port) {
      String logs;
      try {
        logs =
            container == null || container.getContainerId() == null
                ? ""
                : tail(container.getLogs());
      } catch (RuntimeException removed) {
        logs = "(no logs: " + removed.getMessage() + ")";
      }
      return IMAGE
          + " on host port "
          + port
          + (isAlive() ? " (running)" : " (stopped)")
          + ":\n"
          + logs;
    }

    private static String tail(String logs) {
      String[] lines = logs.split("\n");
      return String.join(
          "\n", Arrays.copyOfRange(lines, Math.max(0, lines.length - 20), lines.length));
    }
  }

  private static final class RedisContainer extends GenericContainer<RedisContainer> {
    RedisContainer(int hostPort) {
      super(DockerImageName.parse(IMAGE));
      addFixedExposedPort(hostPort, 6379);
      withCommand("redis-server", "--save", "", "--appendonly", "no");
      waitingFor(Wait.forLogMessage(".*Ready to accept connections.*\\n", 1));
      withStartupTimeout(CONTAINER_READY_TIMEOUT);
    }
  }
}
