package dev.chat.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Counters and the latency histogram of one step, written from every event loop without locks (a
 * {@link Recorder} and {@link LongAdder}s), read by the progress line and the step (copies).
 */
public final class Stats {
  private final Recorder recorder = new Recorder(3);
  private final Histogram total = new Histogram(3);
  public final LongAdder received = new LongAdder();
  public final LongAdder sent = new LongAdder();

  /** Typing frames and read receipts sent (never acknowledged, so not in {@link #sent}). */
  public final LongAdder signals = new LongAdder();

  public final LongAdder acked = new LongAdder();
  public final LongAdder rawDuplicates = new LongAdder();
  public final LongAdder errors = new LongAdder();
  public final LongAdder rateLimited = new LongAdder();

  /** Errors with code unavailable (the broker unreachable), each retried as chat-client.js does. */
  public final LongAdder unavailable = new LongAdder();

  public final long startNanos = System.nanoTime();

  /** Records a delivery whose message was due at {@code intendedNanos}. */
  public void delivered(long intendedNanos, long nowNanos) {
    received.increment();
    long micros = Math.max(0, (nowNanos - intendedNanos) / 1000);
    recorder.recordValue(micros);
  }

  /**
   * A copy of everything recorded so far (cumulative for the step). A copy, because the progress
   * line and the step's row read from two threads: iterating {@code total} while the other one adds
   * to it threw ConcurrentModificationException.
   */
  public synchronized Histogram histogram() {
    total.add(recorder.getIntervalHistogram());
    return total.copy();
  }

  /** Latency percentiles in milliseconds. */
  public Map<String, Object> latencyMillis() {
    Histogram h = histogram();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("count", h.getTotalCount());
    m.put("p50", ms(h.getValueAtPercentile(50)));
    m.put("p99", ms(h.getValueAtPercentile(99)));
    m.put("p999", ms(h.getValueAtPercentile(99.9)));
    m.put("max", ms(h.getMaxValue()));
    m.put("mean", Math.round(h.getMean() / 10.0) / 100.0);
    return m;
  }

  public double p99Millis() {
    return ms(histogram().getValueAtPercentile(99));
  }

  static double ms(long micros) {
    return Math.round(micros / 10.0) / 100.0;
  }
}
