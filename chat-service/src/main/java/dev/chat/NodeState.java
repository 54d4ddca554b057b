package dev.chat;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * What the node's event loops share: the connection count, whether the node is draining, and each
 * loop's broker readiness. Everything here is thread-safe and tiny; rooms and sessions stay
 * confined to their loops.
 */
public final class NodeState {

  private final AtomicInteger connections = new AtomicInteger();
  private final Set<BooleanSupplier> brokers = ConcurrentHashMap.newKeySet();
  private volatile boolean draining;
  private volatile boolean started;

  /** Takes a connection slot; false when the node already holds {@code max}. */
  public boolean tryOpen(int max) {
    while (true) {
      int n = connections.get();
      if (n >= max) {
        return false;
      }
      if (connections.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  public void closed() {
    connections.decrementAndGet();
  }

  public int connections() {
    return connections.get();
  }

  public void addBroker(BooleanSupplier ready) {
    brokers.add(ready);
  }

  public void markStarted() {
    started = true;
  }

  public void drain() {
    draining = true;
  }

  public boolean draining() {
    return draining;
  }

  /** Ready: started, not draining, and every loop's broker reachable. */
  public boolean ready() {
    if (!started || draining) {
      return false;
    }
    for (BooleanSupplier b : brokers) {
      if (!b.getAsBoolean()) {
        return false;
      }
    }
    return true;
  }
}
