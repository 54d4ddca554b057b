package dev.chat.bench;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Opens many clients at a bounded rate with a bounded number in flight, retrying a failed connect
 * with exponential backoff (100 ms doubling to 5 s, {@code maxAttempts} tries).
 */
// The nested futures of a retry chain are completed by hand; the ignored ones are its links.
@SuppressWarnings("FutureReturnValueIgnored")
public final class Connector {
  private final double perSecond;
  private final Semaphore inFlight;
  private final int maxAttempts;
  public final AtomicLong failures = new AtomicLong();
  public final AtomicLong retries = new AtomicLong();

  public Connector(double perSecond, int maxInFlight, int maxAttempts) {
    this.perSecond = perSecond;
    this.inFlight = new Semaphore(maxInFlight);
    this.maxAttempts = maxAttempts;
  }

  /** Connects all; returns how many ended connected. */
  public long connectAll(List<Client> clients) {
    long start = System.nanoTime();
    CompletableFuture<?>[] all = new CompletableFuture<?>[clients.size()];
    for (int i = 0; i < clients.size(); i++) {
      long due = start + (long) (i * 1e9 / perSecond);
      long wait = due - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
      inFlight.acquireUninterruptibly();
      all[i] = attempt(clients.get(i), 1);
    }
    long ok = 0;
    for (CompletableFuture<?> f : all) {
      try {
        f.get(10, TimeUnit.MINUTES);
        ok++;
      } catch (Exception e) {
        failures.incrementAndGet();
      }
    }
    return ok;
  }

  private CompletableFuture<Void> attempt(Client c, int n) {
    return c.connect()
        .handle(
            (v, e) -> {
              if (e == null) {
                inFlight.release();
                return CompletableFuture.<Void>completedFuture(null);
              }
              if (n >= maxAttempts) {
                inFlight.release();
                return CompletableFuture.<Void>failedFuture(e);
              }
              retries.incrementAndGet();
              long backoff = Math.min(5000, 100L << Math.min(n - 1, 6));
              CompletableFuture<Void> next = new CompletableFuture<>();
              c.loop.schedule(
                  () ->
                      attempt(c, n + 1)
                          .whenComplete(
                              (vv, ee) -> {
                                if (ee == null) next.complete(null);
                                else next.completeExceptionally(ee);
                              }),
                  backoff,
                  TimeUnit.MILLISECONDS);
              return next;
            })
        .thenCompose(f -> f);
  }
}
