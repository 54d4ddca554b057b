package dev.chat.session;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Not a test: the per-delivery cost of the fan-out write path on one event loop, for
 * docs/performance.md. A server with the service's socket setup ({@link SocketConnection}, {@link
 * FlushBatching}) on one event loop, {@code members} WebSocket clients on another Vert.x instance,
 * and messages fanned out to every socket, one message per loop task, the clients pacing it: a
 * burst of {@code batch} messages (one loop task, so one flush per socket) goes out once the last
 * one was received everywhere. Reported: the server loop thread's CPU time (user and system) and
 * allocated bytes per delivery over the measured messages.
 *
 * <p>{@code java ... FanOutCost frame|shared [members] [messages] [batch]}: {@code frame} writes
 * through {@code writeFrame} as before, {@code shared} through {@link SocketConnection#sendShared}.
 */
public final class FanOutCost {

  private FanOutCost() {}

  public static void main(String[] args) throws Exception {
    boolean shared = args[0].equals("shared");
    int members = args.length > 1 ? Integer.parseInt(args[1]) : 500;
    int messages = args.length > 2 ? Integer.parseInt(args[2]) : 4_000;
    int batch = args.length > 3 ? Integer.parseInt(args[3]) : 1;
    Vertx server =
        Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setPreferNativeTransport(true));
    Vertx clients = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    SharedFrames frames = new SharedFrames();
    List<SocketConnection> sockets = new ArrayList<>();
    long[] loopThread = new long[1];
    Context[] loop = new Context[1];
    HttpServer http =
        server
            .createHttpServer(
                new HttpServerOptions()
                    .setPerMessageWebSocketCompressionSupported(false)
                    .setPerFrameWebSocketCompressionSupported(false)
                    .setStrictThreadMode(true))
            .requestHandler(
                r ->
                    r.toWebSocket()
                        .onSuccess(
                            ws -> {
                              ws.setWriteQueueMaxSize(1 << 20);
                              FlushBatching.install(ws);
                              loop[0] = Vertx.currentContext();
                              loopThread[0] = Thread.currentThread().threadId();
                              sockets.add(
                                  new SocketConnection(ws, 1 << 20, 1 << 20, frames, () -> {}));
                            }));
    http.listen(0, "127.0.0.1").await();
    AtomicLong received = new AtomicLong();
    WebSocketClient client =
        clients.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(members));
    List<Future<?>> opened = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      opened.add(
          client
              .connect(http.actualPort(), "127.0.0.1", "/ws")
              .onSuccess(ws -> ws.textMessageHandler(t -> received.incrementAndGet())));
    }
    Future.all(opened).await();
    while (onLoop(loop[0], sockets::size) < members) {
      Thread.sleep(10);
    }
    String text = "x".repeat(200);
    int warmup = messages;
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long cpu0 = 0;
    long alloc0 = 0;
    long t0 = 0;
    for (int m = 0; m < warmup + messages; m++) {
      if (m == warmup) {
        cpu0 = threads.getThreadCpuTime(loopThread[0]);
        alloc0 = threads.getThreadAllocatedBytes(loopThread[0]);
        t0 = System.nanoTime();
      }
      List<byte[]> burst = new ArrayList<>();
      for (int b = 0; b < batch; b++) {
        burst.add(
            ("{\"type\":\"message\",\"room\":\"bench\",\"seq\":"
                    + (m * batch + b)
                    + ",\"id\":\"m"
                    + m
                    + "\",\"from\":\"u1\",\"ts\":1764650000000,\"text\":\""
                    + text
                    + "\"}")
                .getBytes(UTF_8));
      }
      long expected = (long) (m + 1) * members * batch;
      onLoop(
          loop[0],
          () -> {
            for (byte[] frame : burst) {
              for (SocketConnection s : sockets) {
                if (shared) {
                  s.sendShared(frame);
                } else {
                  s.send(frame);
                }
              }
            }
            return null;
          });
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (received.get() < expected) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              "message " + m + ": received " + received.get() + " of " + expected);
        }
        LockSupport.parkNanos(50_000);
      }
    }
    long cpu = threads.getThreadCpuTime(loopThread[0]) - cpu0;
    long alloc = threads.getThreadAllocatedBytes(loopThread[0]) - alloc0;
    long wall = System.nanoTime() - t0;
    double deliveries = (double) messages * members * batch;
    System.out.printf(
        "%s members=%d messages=%d batch=%d: server loop CPU %.3f us/delivery, allocated %.1f B/delivery,"
            + " wall %.1f s%n",
        shared ? "shared" : "frame",
        members,
        messages,
        batch,
        cpu / 1_000.0 / deliveries,
        alloc / deliveries,
        wall / 1e9);
    clients.close().await();
    server.close().await();
  }

  private static <T> T onLoop(Context context, java.util.function.Supplier<T> task)
      throws Exception {
    CompletableFuture<T> done = new CompletableFuture<>();
    context.runOnContext(v -> done.complete(task.get()));
    return done.get(30, TimeUnit.SECONDS);
  }
}
