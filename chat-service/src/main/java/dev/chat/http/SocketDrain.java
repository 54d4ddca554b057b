package dev.chat.http;

import dev.chat.protocol.CloseCode;
import dev.chat.session.Session;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes one event loop's sockets with 1012 in small batches spread evenly over the drain window,
 * so that their clients reconnect to the other replicas a few at a time instead of all at once.
 *
 * <p>The i-th of n sockets is closed about {@code i / n} of the way through the window; at its end
 * every socket still open is closed, including one whose upgrade raced the start of the drain. The
 * drain then waits a little for the clients to answer the close frames, so that almost every socket
 * ends with a complete closing handshake rather than being cut by the server's close. It ends early
 * once every socket is gone.
 */
final class SocketDrain {

  private static final Logger LOG = LoggerFactory.getLogger(SocketDrain.class);

  /** Shortest and longest pause between two batches. */
  private static final long MIN_TICK_MS = 10;

  private static final long MAX_TICK_MS = 100;

  /** How long the last close frames get for their answers. */
  static final long CLOSE_WAIT_MS = 1_000;

  /**
   * The least a drain lasts (within its window), even with no socket to close: the server's close
   * that follows unbinds the port, and without this a probe or a load balancer polling readiness
   * went from 200 straight to "connection refused", never seeing the 503.
   */
  static final long NOTICE_MS = 500;

  private final Vertx vertx;
  private final Map<String, Session> live;
  private final long windowMs;
  private final ArrayDeque<Session> queue;
  private final int total;
  private final Promise<Void> done = Promise.promise();
  private long startedAt;
  private long sweptAt = -1;
  private int closed;

  private SocketDrain(Vertx vertx, Map<String, Session> live, long windowMs) {
    this.vertx = vertx;
    this.live = live;
    this.windowMs = windowMs;
    this.queue = new ArrayDeque<>(List.copyOf(live.values()));
    this.total = queue.size();
  }

  /**
   * Drains the sessions in {@code live} (the loop's map of open sessions, which shrinks as sockets
   * close) over {@code windowMs}; completes once every socket closed or {@link #CLOSE_WAIT_MS}
   * after the window. Runs on the calling event loop.
   */
  static Future<Void> run(Vertx vertx, Map<String, Session> live, long windowMs) {
    return new SocketDrain(vertx, live, windowMs).start();
  }

  private Future<Void> start() {
    if (live.isEmpty()) {
      vertx.setTimer(Math.max(1, Math.min(NOTICE_MS, windowMs)), t -> done.complete());
      return done.future();
    }
    LOG.atInfo()
        .addKeyValue("sockets", total)
        .addKeyValue("windowMs", windowMs)
        .log("draining this event loop's sockets");
    startedAt = now();
    long tick = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, windowMs / Math.max(1, total)));
    // A window shorter than a tick closes everything on the first tick.
    vertx.setPeriodic(
        tick,
        id -> {
          if (step()) {
            vertx.cancelTimer(id);
            done.complete();
          }
        });
    return done.future();
  }

  /** One batch; true when the drain is over. */
  private boolean step() {
    long now = now();
    long elapsed = now - startedAt;
    if (live.isEmpty() && elapsed >= Math.min(NOTICE_MS, windowMs)) {
      // Every socket is gone (closed here or by its client): nothing left to spread.
      return true;
    }
    if (elapsed < windowMs) {
      long due = (long) Math.ceil((double) total * elapsed / windowMs);
      while (closed < due && !queue.isEmpty()) {
        closeOne(queue.poll());
      }
      return false;
    }
    if (sweptAt < 0) {
      sweptAt = now;
      queue.forEach(this::closeOne);
      queue.clear();
      List.copyOf(live.values()).forEach(this::closeOne);
    }
    return now - sweptAt >= CLOSE_WAIT_MS;
  }

  private void closeOne(Session session) {
    closed++;
    session.close(CloseCode.SHUTTING_DOWN);
  }

  private static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
