package dev.chat;

import ch.qos.logback.classic.LoggerContext;
import dev.chat.broker.Backend;
import dev.chat.broker.MemoryBackend;
import dev.chat.broker.MemoryStore;
import dev.chat.broker.RedisBackend;
import dev.chat.config.Config;
import dev.chat.http.ChatVerticle;
import dev.chat.http.HandshakeRules;
import dev.chat.metrics.Metrics;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a node: reads the configuration, chooses the broker, deploys one verticle per event loop.
 */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  /**
   * After the drain window: the last close handshakes (1 s), the brokers' leaves (2 s) and slack.
   * The node exits within the drain window plus this even when Redis hangs.
   */
  private static final long STOP_MARGIN_MS = 4_000;

  private static final long VERTX_CLOSE_MS = 2_000;

  private Main() {}

  public static void main(String[] args) {
    Config config;
    HandshakeRules rules;
    try {
      config = Config.fromEnv();
      // Keys and origins are parsed here, so a jwt node without usable keys never starts.
      rules = HandshakeRules.from(config);
    } catch (IllegalArgumentException e) {
      System.err.println("configuration error: " + e.getMessage());
      System.exit(2);
      return;
    }
    nameLogs(config.nodeId());
    Metrics metrics = Metrics.create(config.nodeId());
    Vertx vertx = vertx(metrics, config);
    logTransport(vertx);
    NodeState node = new NodeState();
    metrics.node(node::connections, node::draining);
    Function<Context, Backend> backends = backends(vertx, config, metrics);
    vertx
        .deployVerticle(
            () -> new ChatVerticle(config, node, backends, rules, metrics),
            new DeploymentOptions().setInstances(config.instances()))
        .onSuccess(
            id -> {
              node.markStarted();
              LOG.info(
                  "node {} listening on :{} with {} ({} event loops, blocked-loop warning after {} ms)",
                  config.nodeId(),
                  config.port(),
                  config.embeddedBroker() ? "the embedded broker" : "Redis",
                  config.instances(),
                  config.eventLoopWarnMs());
              Runtime.getRuntime()
                  .addShutdownHook(new Thread(() -> stop(vertx, node, id, config), "shutdown"));
            })
        .onFailure(
            e -> {
              LOG.error("node failed to start", e);
              System.exit(1);
            });
  }

  /**
   * Every log line of this process carries the node id (a logback context property, see
   * logback.xml).
   */
  private static void nameLogs(String nodeId) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logback) {
      logback.putProperty("node", nodeId);
    }
  }

  /**
   * Vert.x reporting into the service's registry: the JVM meters only. Its HTTP and TCP server
   * meters take a sample for every frame written to every socket, and its Redis client meters one
   * for every command, costs on the hot paths that the {@code chat_*} series already cover; its
   * pool meters describe pools this service does not use (and registered the Redis one twice).
   */
  private static Vertx vertx(Metrics metrics, Config config) {
    MicrometerMetricsOptions options =
        new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true);
    for (MetricsDomain domain : MetricsDomain.values()) {
      options.addDisabledMetricsCategory(domain);
    }
    options.addDisabledMetricsCategory("redis");
    return Vertx.builder()
        .with(
            new VertxOptions()
                .setMetricsOptions(options)
                // Epoll where its native library loads (Linux x86_64), else the JDK selector, whose
                // selected-key set was 40-50% of all allocation under fan-out (docs/performance.md)
                .setPreferNativeTransport(true)
                // checked at least twice per limit, so a loop blocked just past it is still caught
                .setMaxEventLoopExecuteTime(config.eventLoopWarnMs())
                .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
                .setBlockedThreadCheckInterval(Math.min(1_000, config.eventLoopWarnMs() / 2))
                .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS))
        .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
        .build();
  }

  /** Which transport the node runs on, and why not the native one when it is not. */
  static void logTransport(Vertx vertx) {
    if (vertx.isNativeTransportEnabled()) {
      LOG.info("transport: native (epoll)");
    } else {
      Throwable cause = vertx.unavailableNativeTransportCause();
      LOG.info(
          "transport: NIO (native transport unavailable: {})",
          cause == null ? "not requested" : cause.toString());
    }
  }

  private static Function<Context, Backend> backends(Vertx vertx, Config config, Metrics metrics) {
    if (config.embeddedBroker()) {
      MemoryStore store =
          new MemoryStore(config.historyMax(), config.dedupWindowMs(), System::currentTimeMillis);
      return ctx -> new MemoryBackend(store, ctx, config.joinedUsersMax());
    }
    AtomicInteger loop = new AtomicInteger();
    return ctx ->
        new RedisBackend(vertx, config, config.nodeId() + "/" + loop.getAndIncrement(), metrics);
  }

  /**
   * SIGTERM: stop being ready and refuse upgrades at once, close the sockets with 1012 spread over
   * the drain window (each verticle's stop), release the brokers, exit.
   */
  private static void stop(Vertx vertx, NodeState node, String deployment, Config config) {
    long started = System.nanoTime();
    node.drain();
    LOG.atInfo()
        .addKeyValue("sockets", node.connections())
        .addKeyValue("drainMs", config.drainMs())
        .log("SIGTERM: draining");
    try {
      vertx
          .undeploy(deployment)
          .toCompletionStage()
          .toCompletableFuture()
          .get(config.drainMs() + STOP_MARGIN_MS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("undeploy did not finish cleanly: {}", e.toString());
    }
    try {
      vertx
          .close()
          .toCompletionStage()
          .toCompletableFuture()
          .get(VERTX_CLOSE_MS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("vert.x did not close cleanly: {}", e.toString());
    }
    LOG.atInfo()
        .addKeyValue("sockets", node.connections())
        .addKeyValue("tookMs", (System.nanoTime() - started) / 1_000_000)
        .log("node stopped");
  }
}
