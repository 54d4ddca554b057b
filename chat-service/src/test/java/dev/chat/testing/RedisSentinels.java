package dev.chat.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A throwaway Sentinel deployment: one master, two replicas and three sentinels (quorum 2), as
 * {@code redis-server} processes on loopback, with the master's kill -9 and a node's restart.
 * Sentinels call a master down after {@value #DOWN_AFTER_MS} ms, so a failover takes a few seconds.
 */
public final class RedisSentinels implements AutoCloseable {

  public static final String MASTER_NAME = "mymaster";
  public static final int DOWN_AFTER_MS = 2_000;
  private static final Duration SETTLE = Duration.ofSeconds(30);

  private final Path dir;
  private final List<RedisServer> data = new ArrayList<>();
  private final List<RedisServer> sentinels = new ArrayList<>();

  private RedisSentinels(Path dir) {
    this.dir = dir;
  }

  /** Starts the nodes and sentinels; returns once every sentinel sees both replicas and peers. */
  public static RedisSentinels start() {
    RedisSentinels s;
    try {
      s = new RedisSentinels(Files.createTempDirectory("redis-sentinel-"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      RedisServer master = s.dataNode(List.of());
      s.data.add(master);
      for (int i = 0; i < 2; i++) {
        s.data.add(
            s.dataNode(List.of("--replicaof", "127.0.0.1", Integer.toString(master.port()))));
      }
      for (int i = 0; i < 3; i++) {
        int port = Ports.freePort();
        Path conf = s.dir.resolve("sentinel-" + port + ".conf");
        Files.writeString(
            conf,
            String.join(
                "\n",
                "dir " + s.dir,
                "sentinel monitor " + MASTER_NAME + " 127.0.0.1 " + master.port() + " 2",
                "sentinel down-after-milliseconds " + MASTER_NAME + " " + DOWN_AFTER_MS,
                "sentinel failover-timeout " + MASTER_NAME + " 5000",
                "sentinel parallel-syncs " + MASTER_NAME + " 2",
                ""));
        s.sentinels.add(RedisServer.process(port, conf, List.of("--sentinel")));
      }
      s.await("the sentinels to see 2 replicas and 2 other sentinels", s::everyoneKnown);
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
  }

  /** A data node with a directory of its own: a replica writes the RDB of a full sync there. */
  private RedisServer dataNode(List<String> args) throws IOException {
    int port = Ports.freePort();
    Path nodeDir = Files.createDirectories(dir.resolve("node-" + port));
    // DEBUG SLEEP lets a test stop a replica from confirming writes (Redis WAIT) for a while.
    List<String> all =
        new ArrayList<>(List.of("--dir", nodeDir.toString(), "--enable-debug-command", "local"));
    all.addAll(args);
    return RedisServer.process(port, null, all);
  }

  /** {@code redis://127.0.0.1:port} of every sentinel. */
  public List<String> sentinelUris() {
    return sentinels.stream().map(RedisServer::uri).toList();
  }

  public List<RedisServer> sentinels() {
    return List.copyOf(sentinels);
  }

  /** The master and both replicas. */
  public List<RedisServer> dataNodes() {
    return List.copyOf(data);
  }

  /** {@code host:port} of the master as the first live sentinel names it. */
  public String masterAddress() {
    for (RedisServer sentinel : sentinels) {
      if (sentinel.isAlive()) {
        try (RespClient c = sentinel.client()) {
          List<?> a = (List<?>) c.call("SENTINEL", "get-master-addr-by-name", MASTER_NAME);
          return a.get(0) + ":" + a.get(1);
        }
      }
    }
    throw new IllegalStateException("no live sentinel");
  }

  public RedisServer master() {
    String address = masterAddress();
    return data.stream()
        .filter(n -> address.equals("127.0.0.1:" + n.port()))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no data node at " + address));
  }

  /**
   * SIGKILLs the master and waits until every sentinel names a new one that reports itself master;
   * returns the killed node.
   */
  public RedisServer killMaster() {
    RedisServer old = master();
    String oldAddress = "127.0.0.1:" + old.port();
    old.kill();
    await(
        "a failover away from " + oldAddress,
        () -> {
          for (RedisServer sentinel : sentinels) {
            if (sentinel.isAlive() && oldAddress.equals(addressFrom(sentinel))) {
              return false;
            }
          }
          return role(master()).equals("master");
        });
    return old;
  }

  /** Starts a killed node again; waits until the sentinels made it a replica of the master. */
  public void restart(RedisServer node) {
    node.restart();
    await(
        node + " to replicate the master",
        () -> {
          try (RespClient c = node.client()) {
            String info = (String) c.call("INFO", "replication");
            return info.contains("role:slave")
                && info.contains("master_port:" + master().port())
                && info.contains("master_link_status:up");
          } catch (RuntimeException notYet) {
            return false;
          }
        });
  }

  @Override
  public void close() {
    sentinels.forEach(RedisServer::close);
    data.forEach(RedisServer::close);
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind is harmless
    }
  }

  /** The first element of {@code ROLE}: master, slave or sentinel. */
  public static String role(RedisServer node) {
    try (RespClient c = node.client()) {
      return (String) ((List<?>) c.call("ROLE")).get(0);
    } catch (RuntimeException down) {
      return "unreachable";
    }
  }

  private boolean everyoneKnown() {
    for (RedisServer replica : data.subList(1, data.size())) {
      try (RespClient c = replica.client()) {
        if (!((String) c.call("INFO", "replication")).contains("master_link_status:up")) {
          return false;
        }
      } catch (RuntimeException notYet) {
        return false;
      }
    }
    for (RedisServer sentinel : sentinels) {
      try (RespClient c = sentinel.client()) {
        List<?> fields = (List<?>) c.call("SENTINEL", "MASTER", MASTER_NAME);
        if (!"2".equals(field(fields, "num-slaves"))
            || !"2".equals(field(fields, "num-other-sentinels"))) {
          return false;
        }
      } catch (RuntimeException notYet) {
        return false;
      }
    }
    return true;
  }

  private static String addressFrom(RedisServer sentinel) {
    try (RespClient c = sentinel.client()) {
      List<?> a = (List<?>) c.call("SENTINEL", "get-master-addr-by-name", MASTER_NAME);
      return a.get(0) + ":" + a.get(1);
    } catch (RuntimeException down) {
      return null;
    }
  }

  private static String field(List<?> flat, String name) {
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      if (name.equals(flat.get(i))) {
        return String.valueOf(flat.get(i + 1));
      }
    }
    return null;
  }

  private void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + SETTLE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("timed out after " + SETTLE + " waiting for " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for " + what, e);
      }
    }
  }
}
