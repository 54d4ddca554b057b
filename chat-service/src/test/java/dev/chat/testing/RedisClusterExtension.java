package dev.chat.testing;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link RedisCluster} for a test class, and a Vert.x beside it for the tests that need one:
 * register it as a static {@code @RegisterExtension} field; the cluster starts before the class's
 * first test, and the Vert.x (if a test asked for it) and then the cluster close after its last.
 */
public final class RedisClusterExtension implements BeforeAllCallback, AfterAllCallback {

  private RedisCluster cluster;
  private Vertx vertx;

  @Override
  public void beforeAll(ExtensionContext context) {
    cluster = RedisCluster.start();
  }

  /** The running cluster. */
  public RedisCluster cluster() {
    if (cluster == null) {
      throw new IllegalStateException("the cluster starts before the class's first test");
    }
    return cluster;
  }

  /** The class's Vert.x, started on first use. */
  public synchronized Vertx vertx() {
    if (vertx == null) {
      vertx = Vertx.vertx();
    }
    return vertx;
  }

  @Override
  public void afterAll(ExtensionContext context) {
    Vertx started;
    synchronized (this) {
      started = vertx;
      vertx = null;
    }
    try {
      if (started != null) {
        started.close().await();
      }
    } finally {
      if (cluster != null) {
        cluster.close();
        cluster = null;
      }
    }
  }
}
