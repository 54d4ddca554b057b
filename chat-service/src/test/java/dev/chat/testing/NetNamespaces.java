package dev.chat.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A private network of Linux network namespaces for partition tests: every {@link #host} is a
 * namespace of its own with {@code lo} up and one veth ({@code eth0}) on a bridge, which lives in a
 * hub namespace of its own; the test JVM joins the bridge through one more veth, so it reaches
 * every host (a chat node's port, a Redis) at the host's {@link Host#address()}. The addresses are
 * a {@code /24} of 10.0.0.0/8 picked at random per run among those no route of this machine
 * overlaps.
 *
 * <p>{@link #cut} severs two hosts in both directions and {@link #heal} joins them again, leaving
 * every other pair alone. A cut drops packets silently, as a failed switch or cable would: each
 * side's neighbour entry for the other is pinned to a MAC address nobody owns, so frames go out,
 * the bridge floods them, and every port drops them as not its own. Established connections stall
 * and retransmit, new ones time out; nobody gets a refusal or an error. (A blackhole route would
 * have made the sender's own kernel answer {@code EINVAL} at once, which no real partition does.)
 *
 * <p>Namespaces are named {@code chatnet-<pid>-<run>-<host>}. {@link #close()}, and a shutdown hook
 * for instances not closed, kill what still runs inside them and delete them and the test JVM's
 * veth; a run whose JVM was SIGKILLed leaves its namespaces behind, and the next {@link #create()}
 * deletes those of every JVM no longer alive. Needs root (or {@code CAP_SYS_ADMIN} and {@code
 * CAP_NET_ADMIN}) and iproute2; without them {@link #create()} throws, naming what failed: a
 * partition test must fail where it cannot run, not be skipped.
 */
public final class NetNamespaces implements AutoCloseable {

  private static final String PREFIX = "chatnet-";
  private static final Pattern OURS = Pattern.compile(PREFIX + "(\\d+)-.*");
  private static final String DEAD_MAC = "02:00:de:ad:be:ef";
  private static final String DEVICE = "eth0";
  private static final Set<NetNamespaces> OPEN = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(() -> OPEN.forEach(NetNamespaces::close), "netns-cleanup"));
  }

  /** One namespace on the bridge: run a process in it with {@link #exec}. */
  public record Host(String name, String namespace, String address, String device) {
    /** The command prefix that runs a command inside this host's namespace (none for the JVM's). */
    public List<String> exec() {
      return namespace == null ? List.of() : List.of("ip", "netns", "exec", namespace);
    }

    @Override
    public String toString() {
      return name + "@" + address;
    }
  }

  private final String run;
  private final String hub;
  private final String subnet; // "10.a.b."
  private final String rootDevice;
  private final Host self;
  private final Map<String, Host> hosts = new LinkedHashMap<>();
  private final Set<String> cuts = ConcurrentHashMap.newKeySet();
  private boolean closed;

  private NetNamespaces(String run, String subnet) {
    this.run = run;
    this.hub = PREFIX + ProcessHandle.current().pid() + "-" + run + "-hub";
    this.subnet = subnet;
    this.rootDevice = "cn" + run;
    this.self = new Host("test-jvm", null, subnet + "1", rootDevice);
  }

  /**
   * Makes the hub and the test JVM's link into it; throws {@link IllegalStateException} saying why
   * if namespaces or veths cannot be made here.
   */
  public static NetNamespaces create() {
    sweepDeadRuns();
    for (int attempt = 0; attempt < 5; attempt++) {
      String subnet = unusedSubnet();
      NetNamespaces net = new NetNamespaces(TestIds.random().substring(0, 6), subnet);
      OPEN.add(net);
      try {
        if (net.start()) {
          return net;
        }
        net.close(); // another run took the same subnet a moment before us: pick another
      } catch (RuntimeException e) {
        net.close();
        throw new IllegalStateException(
            "the partition tests need Linux network namespaces and veth pairs (iproute2, run as"
                + " root or with CAP_SYS_ADMIN and CAP_NET_ADMIN), and they cannot be made here: "
                + e.getMessage(),
            e);
      }
    }
    throw new IllegalStateException("no unused 10.x.y.0/24 found for the test network");
  }

  private boolean start() {
    ip("netns", "add", hub);
    ip("-n", hub, "link", "set", "lo", "up");
    ip("-n", hub, "link", "add", "br0", "type", "bridge");
    ip("-n", hub, "link", "set", "br0", "up");
    ip("link", "add", rootDevice, "type", "veth", "peer", "name", "p-self", "netns", hub);
    ip("-n", hub, "link", "set", "p-self", "master", "br0", "up");
    ip("addr", "add", self.address() + "/24", "dev", rootDevice);
    ip("link", "set", rootDevice, "up");
    String routes = ip("-4", "route", "show", subnet + "0/24");
    return routes.strip().lines().count() == 1;
  }

  /** The test JVM's own end of the network (no namespace of its own), for {@link #cut}. */
  public Host self() {
    return self;
  }

  /** A new namespace {@code name} on the bridge, with the next free address. */
  public synchronized Host host(String name) {
    if (hosts.containsKey(name) || !name.matches("[a-z0-9-]{1,20}")) {
      throw new IllegalArgumentException("bad or duplicate host name " + name);
    }
    int index = hosts.size() + 2;
    if (index > 250) {
      throw new IllegalStateException("the test network is full");
    }
    String namespace = PREFIX + ProcessHandle.current().pid() + "-" + run + "-" + name;
    Host host = new Host(name, namespace, subnet + index, DEVICE);
    ip("netns", "add", namespace);
    hosts.put(name, host);
    ip("-n", namespace, "link", "set", "lo", "up");
    String port = "p" + index;
    ip(
        "link", "add", DEVICE, "netns", namespace, "type", "veth", "peer", "name", port, "netns",
        hub);
    ip("-n", hub, "link", "set", port, "master", "br0", "up");
    ip("-n", namespace, "addr", "add", host.address() + "/24", "dev", DEVICE);
    ip("-n", namespace, "link", "set", DEVICE, "up");
    return host;
  }

  /** Drops every packet between {@code a} and {@code b}, both ways, silently. */
  public void cut(Host a, Host b) {
    pin(a, b.address(), true);
    pin(b, a.address(), true);
    cuts.add(key(a, b));
  }

  /** Undoes {@link #cut}: {@code a} and {@code b} reach each other again. */
  public void heal(Host a, Host b) {
    pin(a, b.address(), false);
    pin(b, a.address(), false);
    cuts.remove(key(a, b));
  }

  /** Cuts {@code host} from each of {@code others}. */
  public void isolate(Host host, List<Host> others) {
    others.forEach(o -> cut(host, o));
  }

  /** Heals every cut between {@code host} and {@code others}. */
  public void rejoin(Host host, List<Host> others) {
    others.forEach(o -> heal(host, o));
  }

  /** Whether {@code a} and {@code b} are cut now. */
  public boolean isCut(Host a, Host b) {
    return cuts.contains(key(a, b));
  }

  private static String key(Host a, Host b) {
    return a.address().compareTo(b.address()) < 0
        ? a.address() + "|" + b.address()
        : b.address() + "|" + a.address();
  }

  private void pin(Host on, String peer, boolean dead) {
    List<String> args = new ArrayList<>();
    if (on.namespace() != null) {
      args.addAll(List.of("-n", on.namespace()));
    }
    if (dead) {
      args.addAll(
          List.of(
              "neigh",
              "replace",
              peer,
              "lladdr",
              DEAD_MAC,
              "dev",
              on.device(),
              "nud",
              "permanent"));
    } else {
      // gone, the next packet resolves the peer's real address by ARP again
      args.addAll(List.of("neigh", "del", peer, "dev", on.device()));
    }
    ip(args.toArray(String[]::new));
  }

  /** Deletes every namespace and the JVM's veth; kills what still runs in them. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    OPEN.remove(this);
    List<String> namespaces = new ArrayList<>();
    hosts.values().forEach(h -> namespaces.add(h.namespace()));
    namespaces.add(hub);
    namespaces.forEach(NetNamespaces::deleteNamespace);
    // deleting the hub frees our veth's peer, which takes the veth with it, but asynchronously
    quietly("link", "del", rootDevice);
  }

  @Override
  public String toString() {
    return "test network " + subnet + "0/24 " + hosts.values();
  }

  /** Kills the processes left in {@code namespace} (by pid) and deletes it; quiet if gone. */
  private static void deleteNamespace(String namespace) {
    try {
      String pids = run(List.of("ip", "netns", "pids", namespace), false);
      for (String pid : pids.strip().split("\\s+")) {
        if (!pid.isEmpty()) {
          ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    } catch (RuntimeException gone) {
      // nothing to kill
    }
    quietly("netns", "del", namespace);
  }

  /** Deletes the namespaces of runs whose JVM is gone (it was SIGKILLed before closing). */
  private static void sweepDeadRuns() {
    String list;
    try {
      list = run(List.of("ip", "netns", "list"), false);
    } catch (RuntimeException e) {
      return; // create() reports the real failure
    }
    for (String line : list.split("\n")) {
      String name = line.strip().split("\\s+")[0];
      Matcher m = OURS.matcher(name);
      if (m.matches()
          && ProcessHandle.of(Long.parseLong(m.group(1))).map(p -> !p.isAlive()).orElse(true)) {
        deleteNamespace(name);
      }
    }
  }

  /** {@code 10.a.b.} of a /24 that no route or address of this machine overlaps. */
  private static String unusedSubnet() {
    String routes =
        ip("-4", "route", "show", "table", "all") + "\n" + ip("-4", "-o", "addr", "show");
    List<long[]> used = new ArrayList<>();
    Matcher m = Pattern.compile("(\\d+\\.\\d+\\.\\d+\\.\\d+)(?:/(\\d+))?").matcher(routes);
    while (m.find()) {
      int bits = m.group(2) == null ? 32 : Integer.parseInt(m.group(2));
      long base = toLong(m.group(1));
      long mask = bits == 0 ? 0 : (0xFFFFFFFFL << (32 - bits)) & 0xFFFFFFFFL;
      used.add(new long[] {base & mask, mask});
    }
    for (int attempt = 0; attempt < 200; attempt++) {
      int a = ThreadLocalRandom.current().nextInt(64, 255);
      int b = ThreadLocalRandom.current().nextInt(0, 256);
      long ours = toLong("10." + a + "." + b + ".0");
      long ourMask = 0xFFFFFF00L;
      boolean overlaps = false;
      for (long[] u : used) {
        long common = u[1] & ourMask;
        // "default" and 0.0.0.0/0 overlap everything and are no conflict: a /24 route wins
        if (u[1] != 0 && (ours & common) == (u[0] & common)) {
          overlaps = true;
          break;
        }
      }
      if (!overlaps) {
        return "10." + a + "." + b + ".";
      }
    }
    throw new IllegalStateException("every 10.x.y.0/24 tried overlaps a route of this machine");
  }

  private static long toLong(String address) {
    long v = 0;
    for (String part : address.split("\\.")) {
      v = (v << 8) | Integer.parseInt(part);
    }
    return v;
  }

  private static String ip(String... args) {
    List<String> command = new ArrayList<>(List.of("ip"));
    command.addAll(List.of(args));
    return run(command, true);
  }

  private static void quietly(String... args) {
    try {
      ip(args);
    } catch (RuntimeException ignored) {
      // already gone
    }
  }

  private static String run(List<String> command, boolean check) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not end within 20 s");
      }
      if (check && p.exitValue() != 0) {
        throw new IllegalStateException(
            "`" + String.join(" ", command) + "` exited " + p.exitValue() + ": " + out.strip());
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + String.join(" ", command) + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command, e);
    }
  }
}
