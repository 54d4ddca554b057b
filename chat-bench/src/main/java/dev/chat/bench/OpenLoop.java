package dev.chat.bench;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * An open-loop publishing schedule: message {@code k} of a step is due at {@code start + k * 1e9 /
 * rate} nanoseconds ({@link System#nanoTime()} clock), whatever happened to the messages before it.
 * Its due time travels in the message's text, so a message sent late because the generator or the
 * server fell behind still counts its whole delay (coordinated omission cannot hide it).
 */
public final class OpenLoop {
  private final long startNanos;
  private final double rate;
  private final long count;

  /**
   * A schedule of {@code rate} messages per second for {@code seconds}, starting at {@code
   * startNanos}.
   */
  public OpenLoop(long startNanos, double rate, double seconds) {
    if (rate <= 0 || seconds <= 0)
      throw new IllegalArgumentException("rate and seconds must be > 0");
    this.startNanos = startNanos;
    this.rate = rate;
    this.count = (long) Math.floor(rate * seconds);
  }

  public long count() {
    return count;
  }

  /** When message {@code k} is due. */
  public long intendedNanos(long k) {
    return startNanos + (long) (k * 1e9 / rate);
  }

  public long startNanos() {
    return startNanos;
  }

  /** The end of the schedule: when message {@code count} would be due. */
  public long endNanos() {
    return intendedNanos(count);
  }

  /** Receives each message of the schedule when it is due. */
  @FunctionalInterface
  public interface Sink {
    void publish(long k, long intendedNanos);
  }

  /**
   * Runs the schedule on the calling thread: parks until each message is due, then hands it to the
   * sink (at once for messages already overdue). Returns the number handed over, which is less than
   * {@link #count()} only when {@code stop} turned true.
   */
  public long run(Sink sink, BooleanSupplier stop) {
    long k = 0;
    while (k < count) {
      if (stop.getAsBoolean()) break;
      long due = intendedNanos(k);
      long wait = due - System.nanoTime();
      if (wait > 50_000) {
        LockSupport.parkNanos(Math.min(wait, 10_000_000));
        continue;
      }
      sink.publish(k, due);
      k++;
    }
    return k;
  }
}
