package dev.chat.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One chat node as a real, separate JVM (same java binary and classpath as the tests), so tests can
 * SIGKILL it, SIGTERM it, and run several against one Redis.
 *
 * <p>The child inherits the test JVM's environment minus every {@code CHAT_*} variable, so a
 * developer's shell cannot change what a test runs; {@code CHAT_PORT} (a free port) and {@code
 * CHAT_NODE_ID} (the name) are set unless the builder gives them. Output goes to {@code
 * target/nodes/<name>-<port>.log}.
 */
public final class ChatNode implements AutoCloseable {

  private static final Duration DEFAULT_READY_TIMEOUT = Duration.ofSeconds(30);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
  private static final AtomicInteger NAMES = new AtomicInteger();

  private final String name;
  private final String host;
  private final int port;
  private final Path log;
  private final Process process;

  private ChatNode(String name, String host, int port, Path log, Process process) {
    this.name = name;
    this.host = host;
    this.port = port;
    this.log = log;
    this.process = process;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Collects what the node is started with; {@link #start()} launches it. */
  public static final class Builder {
    private String mainClass = "dev.chat.Main";
    private String name;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final List<String> jvmArgs = new ArrayList<>(List.of("-Xmx256m"));
    private Duration readyTimeout = DEFAULT_READY_TIMEOUT;
    private NetNamespaces.Host netHost;

    private Builder() {}

    /**
     * Runs the node inside {@code host}'s network namespace ({@link NetNamespaces}); the test
     * reaches it at the host's address instead of 127.0.0.1.
     */
    public Builder in(NetNamespaces.Host host) {
      this.netHost = host;
      return this;
    }

    /** The class whose {@code main} runs; {@code dev.chat.Main} unless set. */
    public Builder mainClass(String mainClass) {
      this.mainClass = mainClass;
      return this;
    }

    /** The node's name: its {@code CHAT_NODE_ID} (unless set by {@link #env}) and log name. */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    public Builder env(String key, String value) {
      env.put(key, value);
      return this;
    }

    /** An extra JVM option, after {@code -Xmx256m}. */
    public Builder jvmArg(String arg) {
      jvmArgs.add(arg);
      return this;
    }

    /** How long {@link #start()} waits for {@code /health/ready}; 30 s unless set. */
    public Builder readyTimeout(Duration readyTimeout) {
      this.readyTimeout = readyTimeout;
      return this;
    }

    /**
     * Starts the JVM and waits until {@code GET /health/ready} answers 200; throws {@link
     * IllegalStateException} with the log's tail if the process exits first or the wait times out
     * (the process is killed then).
     */
    public ChatNode start() {
      String nodeName = name != null ? name : "node-" + NAMES.incrementAndGet();
      // A port found free can be taken by another process before the node binds it: pick another.
      for (int attempt = 1; ; attempt++) {
        try {
          return startOnce(nodeName);
        } catch (IllegalStateException e) {
          boolean portChosenHere = !env.containsKey("CHAT_PORT");
          if (!portChosenHere || attempt == 3 || !bindFailed(String.valueOf(e.getMessage()))) {
            throw e;
          }
        }
      }
    }

    /**
     * The JDK transport says BindException; epoll says "bind(..) failed ... Address already in
     * use". A cluster-mode node opens dozens of Redis connections before it binds, and one of their
     * ephemeral ports can be the one chosen for it.
     */
    private static boolean bindFailed(String log) {
      return log.contains("BindException") || log.contains("Address already in use");
    }

    private ChatNode startOnce(String nodeName) {
      Map<String, String> childEnv = new LinkedHashMap<>(env);
      int port =
          childEnv.containsKey("CHAT_PORT")
              ? Integer.parseInt(childEnv.get("CHAT_PORT"))
              : Ports.freePort();
      childEnv.putIfAbsent("CHAT_PORT", Integer.toString(port));
      childEnv.putIfAbsent("CHAT_NODE_ID", nodeName);

      Path log = Path.of("target", "nodes", nodeName + "-" + port + ".log").toAbsolutePath();
      try {
        Files.createDirectories(log.getParent());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      String java =
          ProcessHandle.current()
              .info()
              .command()
              .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
      List<String> command = new ArrayList<>();
      if (netHost != null) {
        command.addAll(netHost.exec());
      }
      command.add(java);
      command.addAll(jvmArgs);
      command.add("-cp");
      command.add(System.getProperty("java.class.path"));
      command.add(mainClass);

      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(Redirect.to(log.toFile()));
      builder.environment().keySet().removeIf(key -> key.startsWith("CHAT_"));
      builder.environment().putAll(childEnv);

      String host = netHost == null ? "127.0.0.1" : netHost.address();
      ChatNode node = new ChatNode(nodeName, host, port, log, ChildProcesses.start(builder));
      node.awaitReady(readyTimeout);
      return node;
    }
  }

  private void awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (httpStatus("/health/ready") == 200) {
        return;
      }
      if (!process.isAlive()) {
        throw new IllegalStateException(
            name
                + " exited with "
                + process.exitValue()
                + " before it was ready; log "
                + log
                + ":\n"
                + logTail(40));
      }
      if (System.nanoTime() > deadline) {
        kill();
        throw new IllegalStateException(
            name + " was not ready within " + timeout + "; log " + log + ":\n" + logTail(40));
      }
      sleep(Duration.ofMillis(100));
    }
  }

  public int port() {
    return port;
  }

  public String name() {
    return name;
  }

  /** The address the node is reached at: 127.0.0.1, or its namespace's address. */
  public String host() {
    return host;
  }

  public long pid() {
    return process.pid();
  }

  /** {@code ws://<host>:<port>/ws?user=<user>}, the user percent-encoded. */
  public URI wsUri(String user) {
    // URLEncoder writes a space as '+', which a query decoder may read back as '+'
    String encoded = URLEncoder.encode(user, StandardCharsets.UTF_8).replace("+", "%20");
    return URI.create("ws://" + host + ":" + port + "/ws?user=" + encoded);
  }

  /** {@code http://<host>:<port><path>}. */
  public URI httpUri(String path) {
    return URI.create("http://" + host + ":" + port + path);
  }

  /**
   * The status of {@code GET <path>}, or -1 if nothing answered within 2 s (refused, reset, timed
   * out).
   */
  public int httpStatus(String path) {
    HttpRequest request =
        HttpRequest.newBuilder(httpUri(path)).timeout(Duration.ofSeconds(2)).GET().build();
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** SIGKILL, then waits (up to 10 s) until the process is gone. */
  public void kill() {
    ChildProcesses.kill(process);
  }

  /** SIGTERM, without waiting: a graceful shutdown follows; see {@link #waitForExit}. */
  public void terminate() {
    process.destroy();
  }

  /** Waits for the process to end and returns its exit code (143 after an unhandled SIGTERM). */
  public int waitForExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(
            name + " still running after " + timeout + "; log " + log + ":\n" + logTail(20));
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path logFile() {
    return log;
  }

  /** The last {@code lines} lines of the node's output (stdout and stderr). */
  public String logTail(int lines) {
    return ChildProcesses.tail(log, lines);
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }

  @Override
  public String toString() {
    String where = host.equals("127.0.0.1") ? "" : host + ":";
    return name + "@" + where + port + (process.isAlive() ? "" : " (exited)");
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
