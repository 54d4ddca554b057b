package dev.chat;

import dev.chat.broker.Broker;
import dev.chat.broker.MemoryBroker;
import dev.chat.broker.MemoryStore;
import dev.chat.broker.RedisBroker;
import dev.chat.config.Config;
import dev.chat.http.ChatVerticle;
import dev.chat.http.HandshakeRules;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts a node: reads the configuration, chooses the broker, deploys one verticle per event loop. */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);
  /** How long a draining node keeps its port open, answering 503, before it closes anything. */
  private static final long DRAIN_NOTICE_MS = 500;

  private Main() {
  }

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
    Vertx vertx = Vertx.vertx();
    NodeState node = new NodeState();
    Function<Context, Broker> brokers = brokers(vertx, config);
    vertx.deployVerticle(() -> new ChatVerticle(config, node, brokers, rules),
            new DeploymentOptions().setInstances(config.instances()))
        .onSuccess(id -> {
          node.markStarted();
          LOG.info("node {} listening on :{} with {} ({} event loops)", config.nodeId(), config.port(),
              config.embeddedBroker() ? "the embedded broker" : "Redis", config.instances());
          Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(vertx, node, id, config), "shutdown"));
        })
        .onFailure(e -> {
          LOG.error("node failed to start", e);
          System.exit(1);
        });
  }

  private static Function<Context, Broker> brokers(Vertx vertx, Config config) {
    if (config.embeddedBroker()) {
      MemoryStore store = new MemoryStore(config.historyMax(), config.dedupWindowMs(), System::currentTimeMillis);
      return ctx -> new MemoryBroker(store, ctx, config.joinedUsersMax());
    }
    AtomicInteger loop = new AtomicInteger();
    return ctx -> new RedisBroker(vertx, config, config.nodeId() + "/" + loop.getAndIncrement());
  }

  /** SIGTERM: stop being ready, close every socket with 1012, release the broker, exit. */
  private static void stop(Vertx vertx, NodeState node, String deployment, Config config) {
    node.drain();
    // Vert.x's server shutdown unbinds the port before anything else, so without this pause the
    // 503 of /health/ready (and of a draining upgrade) was visible for a few milliseconds at most:
    // probes and load balancers went from 200 straight to "connection refused".
    long notice = Math.min(DRAIN_NOTICE_MS, config.shutdownMs());
    LOG.info("shutting down: not ready, closing {} connections in {} ms", node.connections(), notice);
    try {
      Thread.sleep(notice);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      vertx.undeploy(deployment).toCompletionStage().toCompletableFuture()
          .get(config.shutdownMs() + 5_000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("undeploy did not finish cleanly: {}", e.toString());
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("vert.x did not close cleanly: {}", e.toString());
    }
    LOG.info("node {} stopped", config.nodeId());
  }
}
