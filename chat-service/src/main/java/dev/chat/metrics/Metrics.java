package dev.chat.metrics;

import dev.chat.protocol.CloseCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The service's own Prometheus series, named here once. Every method may be called from any event
 * loop and allocates nothing: Micrometer counters are striped adders, so the hot path pays one add
 * per call and no lock.
 *
 * <p>Every series exists from the start (closes for every code at 0), so a dashboard or an alert on
 * a rate never sees a series appear out of nowhere.
 */
public final class Metrics {

  private static final Duration[] PUBLISH_BUCKETS = {
    Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1),
        Duration.ofMillis(2),
    Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofMillis(2_500), Duration.ofSeconds(5)
  };

  private final PrometheusMeterRegistry registry;
  private final Counter joins;
  private final Counter messagesIn;
  private final Counter messagesOut;
  private final Counter acks;
  private final Counter redeliveries;
  private final Counter dedupHits;
  private final Counter gapsRepaired;
  private final Counter commandReconnects;
  private final Counter subscriberReconnects;
  private final Map<CloseCode, Counter> closes = new EnumMap<>(CloseCode.class);
  private final Timer publish;

  public Metrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    joins = counter("chat.joins", "joins answered with a joined frame");
    messagesIn = counter("chat.messages.in", "send and dm frames received from clients");
    messagesOut =
        counter(
            "chat.messages.out",
            "message frames written to sockets, replays included, redeliveries not");
    acks = counter("chat.acks", "delivery acks received from clients");
    redeliveries = counter("chat.redeliveries", "message frames sent again for want of an ack");
    dedupHits =
        counter(
            "chat.dedup.hits",
            "sends answered with an earlier ack because their id was used already");
    gapsRepaired = counter("chat.seq.gaps.repaired", "live-stream seq gaps filled from history");
    commandReconnects =
        Counter.builder("chat.redis.reconnects")
            .tag("connection", "commands")
            .description("Redis connections re-established after a loss")
            .register(registry);
    subscriberReconnects =
        Counter.builder("chat.redis.reconnects")
            .tag("connection", "subscriber")
            .description("Redis connections re-established after a loss")
            .register(registry);
    for (CloseCode code : CloseCode.values()) {
      closes.put(
          code,
          Counter.builder("chat.closes")
              .tag("code", Integer.toString(code.code()))
              .description("sockets the service closed, by close code")
              .register(registry));
    }
    publish =
        Timer.builder("chat.broker.publish")
            .description(
                "time from a send or dm to its message being stored and published (both inboxes for a dm)")
            .serviceLevelObjectives(PUBLISH_BUCKETS)
            .register(registry);
  }

  /** Metrics on a registry of their own, tagged with {@code node}. */
  public static Metrics create(String node) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("node", node);
    return new Metrics(registry);
  }

  /** The registry to scrape, and to add other meters (JVM, Vert.x) to. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Registers the node's socket gauges: open sockets, and those left to close while draining. */
  public void node(IntSupplier openSockets, BooleanSupplier draining) {
    Gauge.builder("chat.sockets.open", () -> openSockets.getAsInt())
        .description("open WebSocket connections")
        .register(registry);
    Gauge.builder("chat.draining", () -> draining.getAsBoolean() ? 1 : 0)
        .description("1 while the node drains after SIGTERM")
        .register(registry);
    Gauge.builder(
            "chat.drain.remaining.sockets",
            () -> draining.getAsBoolean() ? openSockets.getAsInt() : 0)
        .description("sockets still open while draining (0 when not draining)")
        .register(registry);
  }

  public void joined() {
    joins.increment();
  }

  public void messageIn() {
    messagesIn.increment();
  }

  public void messageOut() {
    messagesOut.increment();
  }

  public void acked() {
    acks.increment();
  }

  public void redelivered() {
    redeliveries.increment();
  }

  public void dedupHit() {
    dedupHits.increment();
  }

  public void gapRepaired() {
    gapsRepaired.increment();
  }

  public void closed(CloseCode code) {
    closes.get(code).increment();
  }

  public void commandsReconnected() {
    commandReconnects.increment();
  }

  public void subscriberReconnected() {
    subscriberReconnects.increment();
  }

  /** Records one broker publish that started at {@code startNanos} ({@link System#nanoTime()}). */
  public void published(long startNanos) {
    publish.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  private Counter counter(String name, String description) {
    return Counter.builder(name).description(description).register(registry);
  }
}
