package dev.chat.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A throwaway Redis Cluster of 3 masters and 3 replicas, as {@code redis-server} processes on
 * loopback, with the faults tests need: kill -9 and restart of a node, a manual failover, a slot
 * resharded. No persistence: a restarted node comes back empty and resyncs from its master.
 *
 * <p>{@code --cluster-node-timeout 2000}: shorter timeouts made a loaded 2-core box mark live
 * masters failed and fail over on its own.
 */
public final class RedisCluster implements AutoCloseable {

  public static final int NODE_TIMEOUT_MS = 2_000;
  private static final Duration SETTLE = Duration.ofSeconds(30);

  /** In {@link #start(NetNamespaces)}: each node's port inside its own namespace. */
  private static final int NAMESPACED_PORT = 7_000;

  private final Path dir;
  private final List<RedisServer> nodes = new ArrayList<>();
  private final Map<RedisServer, NetNamespaces.Host> hosts = new HashMap<>();

  private RedisCluster(Path dir) {
    this.dir = dir;
  }

  /**
   * Starts six nodes, joins them with {@code redis-cli --cluster create}, waits until all agree.
   */
  public static RedisCluster start() {
    Path dir;
    try {
      dir = Files.createTempDirectory("redis-cluster-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return start(dir, null);
  }

  /**
   * As {@link #start()}, but each of the six nodes runs in a network namespace of its own on {@code
   * net} (hosts {@code redis-1} … {@code redis-6}, port 7000, announcing its address), so a test
   * can {@link NetNamespaces#cut cut} one off from the others while clients still reach it; {@link
   * #hostOf} names a node's host.
   */
  public static RedisCluster start(NetNamespaces net) {
    Path dir;
    try {
      dir = Files.createTempDirectory("redis-cluster-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return start(dir, net);
  }

  private static RedisCluster start(Path dir, NetNamespaces net) {
    RedisCluster cluster = new RedisCluster(dir);
    try {
      List<String> addresses = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        NetNamespaces.Host host = net == null ? null : net.host("redis-" + (i + 1));
        int port = net == null ? portWithFreeBus() : NAMESPACED_PORT;
        Path nodeDir = Files.createDirectories(dir.resolve("node-" + (i + 1) + "-" + port));
        List<String> options =
            new ArrayList<>(
                List.of(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", nodeDir.resolve("nodes.conf").toString(),
                    "--cluster-node-timeout", Integer.toString(NODE_TIMEOUT_MS),
                    "--dir", nodeDir.toString(),
                    // DEBUG SLEEP, for tests of replicas that do not confirm a WAIT in time
                    "--enable-debug-command", "local"));
        RedisServer node;
        if (host == null) {
          node = RedisServer.process(port, null, options);
        } else {
          options.addAll(List.of("--cluster-announce-ip", host.address()));
          node = RedisServer.process(host, port, null, options);
          cluster.hosts.put(node, host);
        }
        cluster.nodes.add(node);
        addresses.add(address(node));
      }
      List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
      create.addAll(addresses);
      create.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
      run(create, dir.resolve("create.log"));
      cluster.awaitSettled();
      return cluster;
    } catch (IOException | RuntimeException e) {
      cluster.close();
      throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
    }
  }

  /** {@code redis://host:port} of every node, for a seed list. */
  public List<String> seedUris() {
    return nodes.stream().map(RedisServer::uri).toList();
  }

  public List<RedisServer> nodes() {
    return List.copyOf(nodes);
  }

  /** The namespace {@code node} runs in, if the cluster was started on a {@link NetNamespaces}. */
  public NetNamespaces.Host hostOf(RedisServer node) {
    return Objects.requireNonNull(hosts.get(node), node + " runs in no namespace");
  }

  /** The node that serves {@code slot} as master, as the cluster sees it now. */
  public RedisServer masterOf(int slot) {
    return node(view().masterOf(slot));
  }

  /** A live replica of {@code slot}'s master. */
  public RedisServer replicaOf(int slot) {
    ClusterView view = view();
    String master = view.masterOf(slot);
    return view.replicasOf(master).stream()
        .map(this::node)
        .filter(RedisServer::isAlive)
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no live replica of " + master));
  }

  /** Every master serving slots, by address. */
  public List<RedisServer> masters() {
    return view().masters().stream().map(this::node).toList();
  }

  /** SIGKILLs {@code node}, then waits until the others have failed over its slots, if any. */
  public void kill(RedisServer node) {
    node.kill();
    await("the cluster to fail over from " + node.port(), () -> settledWithout(node));
  }

  /**
   * Waits until every node but {@code cutOff} (a master partitioned from the others, still running)
   * agrees on a topology in which {@code cutOff} serves no slot: its replica took over.
   */
  public void awaitFailedOverFrom(RedisServer cutOff) {
    await("the others to fail over from " + cutOff.host(), () -> settledWithout(cutOff));
  }

  /** The node that serves {@code slot} as master, as every node but {@code cutOff} sees it. */
  public RedisServer masterOf(int slot, RedisServer cutOff) {
    for (RedisServer node : nodes) {
      if (node != cutOff && node.isAlive()) {
        try (RespClient c = node.client()) {
          return node(ClusterView.parse((String) c.call("CLUSTER", "NODES")).masterOf(slot));
        } catch (RuntimeException tryNext) {
          // a node restarting; ask the next
        }
      }
    }
    throw new IllegalStateException("no live node in the cluster");
  }

  /** Starts a killed node again on its port; it rejoins (a former master as a replica). */
  public void restart(RedisServer node) {
    node.restart();
    awaitSettled();
  }

  /** {@code CLUSTER FAILOVER} on {@code replica}, then waits until every node sees it as master. */
  public void failover(RedisServer replica) {
    try (RespClient c = replica.client()) {
      c.call("CLUSTER", "FAILOVER");
    }
    String address = address(replica);
    await(
        replica + " to be master everywhere",
        () -> settled() && view().masters().contains(address));
  }

  /**
   * Moves {@code slot} with its keys to {@code target} the way {@code redis-cli --cluster reshard}
   * does: IMPORTING on the target, MIGRATING on the source, MIGRATE the keys, then SETSLOT NODE on
   * the target, the source and the other masters.
   */
  public void reshard(int slot, RedisServer target) {
    moveSlot(slot, target);
    await(
        "slot " + slot + " to move to " + target,
        () -> settled() && view().masterOf(slot).equals(address(target)));
  }

  /**
   * {@link #reshard} without waiting for every node to agree: when it returns, the source and the
   * target know the slot's new master, and a client whose topology is older gets a {@code MOVED}.
   */
  public void moveSlot(int slot, RedisServer target) {
    RedisServer source = masterOf(slot);
    if (source == target) {
      throw new IllegalArgumentException(target + " already serves slot " + slot);
    }
    String s = Integer.toString(slot);
    String targetId = id(target);
    call(target, "CLUSTER", "SETSLOT", s, "IMPORTING", id(source));
    call(source, "CLUSTER", "SETSLOT", s, "MIGRATING", targetId);
    while (true) {
      List<?> keys = (List<?>) call(source, "CLUSTER", "GETKEYSINSLOT", s, "100");
      if (keys.isEmpty()) {
        break;
      }
      List<String> migrate =
          new ArrayList<>(
              List.of("MIGRATE", target.host(), Integer.toString(target.port()), "", "0", "5000"));
      migrate.add("KEYS");
      keys.forEach(k -> migrate.add((String) k));
      call(source, migrate.toArray(String[]::new));
    }
    call(target, "CLUSTER", "SETSLOT", s, "NODE", targetId);
    call(source, "CLUSTER", "SETSLOT", s, "NODE", targetId);
    for (RedisServer master : masters()) {
      if (master != target && master != source) {
        call(master, "CLUSTER", "SETSLOT", s, "NODE", targetId);
      }
    }
  }

  /** {@code CLUSTER MYID} of a live node. */
  public String id(RedisServer node) {
    return (String) call(node, "CLUSTER", "MYID");
  }

  @Override
  public void close() {
    nodes.forEach(RedisServer::close);
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted((a, b) -> b.compareTo(a)).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind is harmless
    }
  }

  public void awaitSettled() {
    await("the cluster to settle", this::settled);
  }

  /**
   * Every live replica has finished its sync with its master ({@code master_link_status:up}). A
   * settled cluster can still have a replica loading its first copy, and a {@code WAIT} meanwhile
   * counts no replica.
   */
  public void awaitReplicasLinked() {
    await("every replica to link with its master", this::replicasLinked);
  }

  private boolean replicasLinked() {
    for (RedisServer node : nodes) {
      if (!node.isAlive()) {
        continue;
      }
      try (RespClient c = node.client()) {
        String info = (String) c.call("INFO", "replication");
        if (info.contains("role:slave") && !info.contains("master_link_status:up")) {
          return false;
        }
      } catch (RuntimeException notYet) {
        return false;
      }
    }
    return true;
  }

  /**
   * Every live node reports cluster_state:ok with all slots, and all see the same masters and
   * replicas (a replica's new master spreads by gossip after the slots do).
   */
  private boolean settled() {
    return settledWithout(null);
  }

  private boolean settledWithout(RedisServer dead) {
    ClusterView first = null;
    for (RedisServer node : nodes) {
      if (node == dead || !node.isAlive()) {
        continue;
      }
      try (RespClient c = node.client()) {
        String info = (String) c.call("CLUSTER", "INFO");
        if (!info.contains("cluster_state:ok") || !info.contains("cluster_slots_ok:16384")) {
          return false;
        }
        ClusterView view = ClusterView.parse((String) c.call("CLUSTER", "NODES"));
        if (dead != null && view.masters().contains(address(dead))) {
          return false;
        }
        if (first == null) {
          first = view;
        } else if (!first.equals(view)) {
          return false;
        }
      } catch (RuntimeException notYet) {
        return false;
      }
    }
    return first != null && first.coversAllSlots();
  }

  private ClusterView view() {
    for (RedisServer node : nodes) {
      if (node.isAlive()) {
        try (RespClient c = node.client()) {
          return ClusterView.parse((String) c.call("CLUSTER", "NODES"));
        } catch (RuntimeException tryNext) {
          // a node restarting; ask the next
        }
      }
    }
    throw new IllegalStateException("no live node in the cluster");
  }

  private RedisServer node(String address) {
    return nodes.stream()
        .filter(n -> address(n).equals(address))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no node at " + address));
  }

  private static String address(RedisServer node) {
    return node.host() + ":" + node.port();
  }

  private static Object call(RedisServer node, String... args) {
    try (RespClient c = node.client()) {
      return c.call(args);
    }
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

  /** The cluster bus listens on port + 10000, so both must be free and below 65536. */
  private static int portWithFreeBus() {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 30_000);
      if (free(port) && free(port + 10_000)) {
        return port;
      }
    }
    throw new IllegalStateException("no free port pair (p, p+10000) in 20000-40000");
  }

  private static boolean free(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void run(List<String> command, Path log) {
    try {
      Process p =
          ChildProcesses.start(
              new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()));
      if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(
            String.join(" ", command)
                + " failed:\n"
                + Files.readString(log, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** One node's {@code CLUSTER NODES}: which master serves which slots, and its replicas. */
  record ClusterView(Map<Integer, String> slotOwner, Map<String, String> replicaToMaster) {

    static ClusterView parse(String nodes) {
      Map<String, String> addressById = new TreeMap<>();
      Map<Integer, String> owners = new TreeMap<>();
      Map<String, String> masterIdOfReplica = new TreeMap<>();
      List<String[]> lines = new ArrayList<>();
      for (String line : nodes.split("\n")) {
        if (!line.isBlank()) {
          lines.add(line.trim().split(" "));
        }
      }
      for (String[] f : lines) {
        addressById.put(f[0], f[1].substring(0, f[1].indexOf('@')));
      }
      for (String[] f : lines) {
        String address = addressById.get(f[0]);
        if (f[2].contains("slave")) {
          masterIdOfReplica.put(address, f[3]);
        } else if (f[2].contains("master") && !f[2].contains("fail")) {
          for (int i = 8; i < f.length; i++) {
            if (f[i].startsWith("[")) {
              continue; // an importing or migrating marker, not ownership
            }
            String[] range = f[i].split("-");
            int from = Integer.parseInt(range[0]);
            int to = range.length > 1 ? Integer.parseInt(range[1]) : from;
            for (int slot = from; slot <= to; slot++) {
              owners.put(slot, address);
            }
          }
        }
      }
      Map<String, String> replicas = new TreeMap<>();
      masterIdOfReplica.forEach((r, m) -> replicas.put(r, addressById.get(m)));
      return new ClusterView(owners, replicas);
    }

    Map<Integer, String> slotOwners() {
      return slotOwner;
    }

    boolean coversAllSlots() {
      return slotOwner.size() == 16_384;
    }

    String masterOf(int slot) {
      return Objects.requireNonNull(slotOwner.get(slot), "no master serves slot " + slot);
    }

    List<String> masters() {
      return slotOwner.values().stream().distinct().sorted().toList();
    }

    List<String> replicasOf(String master) {
      return replicaToMaster.entrySet().stream()
          .filter(e -> master.equals(e.getValue()))
          .map(Map.Entry::getKey)
          .toList();
    }
  }
}
