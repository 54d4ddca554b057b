package dev.chat.session;

import io.vertx.core.Vertx;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The {@link SessionHarness}es of a test class, as a {@code @RegisterExtension} field: one Vert.x
 * for the class, closed after it, and each test's harness closed after that test.
 */
final class SessionHarnesses implements AfterEachCallback, AfterAllCallback {

  private Vertx vertx;
  private SessionHarness current;

  /** A new harness on the class's Vert.x; {@code env} overrides its defaults. */
  SessionHarness open(Map<String, String> env) {
    if (current != null) {
      current.close();
    }
    if (vertx == null) {
      vertx = Vertx.vertx();
    }
    current = new SessionHarness(vertx, env);
    return current;
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (current != null) {
      current.close();
      current = null;
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().join();
      vertx = null;
    }
  }
}
