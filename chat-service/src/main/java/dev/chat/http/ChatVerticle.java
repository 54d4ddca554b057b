package dev.chat.http;

import dev.chat.NodeState;
import dev.chat.auth.Identity;
import dev.chat.broker.Backend;
import dev.chat.config.Config;
import dev.chat.http.api.ServerApi;
import dev.chat.metrics.Metrics;
import dev.chat.protocol.CloseCode;
import dev.chat.room.RoomHub;
import dev.chat.session.EchoConnection;
import dev.chat.session.Session;
import dev.chat.session.SharedFrames;
import dev.chat.session.SocketConnection;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One event loop's share of the node: an HTTP server on the shared port (WebSocket endpoint,
 * health, metrics, static page) with its own broker and room hub.
 */
public final class ChatVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ChatVerticle.class);
  private static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; script-src 'self'; "
          + "style-src 'self'; img-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
          + "form-action 'self'; frame-ancestors 'none'";

  /**
   * How long the broker gets to announce this loop's leaves at shutdown before the node exits
   * anyway.
   */
  private static final long BROKER_CLOSE_MS = 2_000;

  private final Config config;
  private final NodeState node;
  private final Function<Context, Backend> backends;
  private final HandshakeRules rules;
  private final Metrics metrics;
  // This loop's open sessions by connection id, for the drain.
  private final Map<String, Session> sessions = new HashMap<>();
  // The fan-out's frames, encoded once for all of this loop's sockets.
  private final SharedFrames sharedFrames = new SharedFrames();
  private Backend backend;
  private ConnectionSlots slots;
  private RoomHub hub;
  private HttpServer server;
  private HttpServer apiServer;
  private Router router;

  public ChatVerticle(
      Config config,
      NodeState node,
      Function<Context, Backend> backends,
      HandshakeRules rules,
      Metrics metrics) {
    this.config = config;
    this.node = node;
    this.backends = backends;
    this.rules = rules;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    backend = backends.apply(context);
    hub =
        new RoomHub(
                vertx,
                backend.broker(),
                backend.presence(),
                config.historyOnJoin(),
                config.presenceMaxOnline(),
                metrics)
            .typingMaxOnline(config.typingMaxOnline())
            .readMaxOnline(config.readMaxOnline());
    slots = new ConnectionSlots(backend.connections(), config);
    node.addBroker(backend::ready);
    backend.broker().disconnects(this::disconnect);
    router = Router.router(vertx);
    if (config.echoEndpoint()) {
      router.get("/echo").handler(this::echo);
    }
    router.get("/health/live").handler(ctx -> ctx.response().end("live"));
    router.get("/health/ready").handler(this::ready);
    router.get("/metrics").handler(PrometheusScrapingHandler.create(metrics.registry()));
    Router apiRouter = config.api().port() == 0 ? router : Router.router(vertx);
    if (config.api().enabled()) {
      new ServerApi(
              backend.broker(), config.api().key(), config.maxFrameBytes(), metrics.registry())
          .mount(apiRouter);
    }
    router.route().handler(ChatVerticle::staticHeaders);
    router.route().handler(StaticHandler.create("webroot"));
    HttpServerOptions options =
        new HttpServerOptions()
            .setMaxWebSocketFrameSize(config.maxFrameBytes())
            .setMaxWebSocketMessageSize(config.maxFrameBytes())
            // Off: with compression on, Vert.x accepted RSV bits it should not; nothing here tests
            // it.
            .setPerMessageWebSocketCompressionSupported(false)
            .setPerFrameWebSocketCompressionSupported(false)
            // Every socket is served by this verticle's event loop alone (its session, hub and
            // broker
            // callbacks all run there), so Vert.x may use single-thread queues for it instead of
            // multi-producer ones: 16.6 -> 11.8 KB of heap per idle socket (docs/performance.md).
            .setStrictThreadMode(true);
    server = vertx.createHttpServer(options).requestHandler(this::route);
    return backend
        .start()
        .compose(v -> server.listen(config.port()))
        .compose(v -> listenApi(apiRouter));
  }

  /** A port of the API's own, when {@code CHAT_API_PORT} gives one (else it is on the router). */
  private Future<?> listenApi(Router apiRouter) {
    if (config.api().port() == 0 || !config.api().enabled()) {
      return Future.succeededFuture();
    }
    apiServer = vertx.createHttpServer().requestHandler(apiRouter);
    return apiServer.listen(config.api().port());
  }

  /** Closes this loop's connections of {@code user} with 4003 (the server API's disconnect). */
  private int disconnect(String user) {
    int closed = 0;
    for (Session session : List.copyOf(sessions.values())) {
      if (session.user().equals(user) && !session.closed()) {
        session.close(CloseCode.DISCONNECTED);
        closed++;
      }
    }
    return closed;
  }

  /**
   * The node is draining (upgrades already get 503): closes this loop's sockets with 1012 spread
   * over the drain window, then stops the server and lets the broker announce what is left.
   */
  @Override
  public Future<?> stop() {
    return SocketDrain.run(vertx, sessions, config.drainMs())
        .eventually(() -> server.close())
        .eventually(() -> apiServer == null ? Future.succeededFuture() : apiServer.close())
        .eventually(this::closeBroker);
  }

  private Future<Void> closeBroker() {
    Promise<Void> closed = Promise.promise();
    long timer =
        vertx.setTimer(
            BROKER_CLOSE_MS,
            t -> {
              if (closed.tryComplete()) {
                LOG.warn("broker did not close within {} ms", BROKER_CLOSE_MS);
              }
            });
    backend
        .close()
        .onComplete(
            ar -> {
              vertx.cancelTimer(timer);
              closed.tryComplete();
            });
    return closed.future();
  }

  /**
   * Security headers for the page and its files. The page renders user text as text only; the
   * policy makes sure an injected tag could not run script or load anything from elsewhere anyway.
   * The client library may be imported as a module by other origins' apps, hence CORS on it.
   */
  private static void staticHeaders(RoutingContext ctx) {
    ctx.response()
        .headers()
        .set("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer");
    if ("/chat-client.js".equals(ctx.normalizedPath())) {
      ctx.response().putHeader("Access-Control-Allow-Origin", "*");
    }
    ctx.next();
  }

  private void ready(RoutingContext ctx) {
    boolean ok = node.ready();
    ctx.response().setStatusCode(ok ? 200 : 503).end(ok ? "ready" : "not ready");
  }

  /**
   * The WebSocket endpoint is served before the router: a socket upgraded through vertx-web is a
   * wrapper that hides Vert.x's {@code WebSocketInternal}, which {@link SocketConnection} needs to
   * batch the socket's flushes.
   */
  private void route(HttpServerRequest request) {
    if (HttpMethod.GET.equals(request.method()) && "/ws".equals(request.path())) {
      upgrade(request);
    } else {
      router.handle(request);
    }
  }

  private void upgrade(HttpServerRequest request) {
    Identity identity = rules.check(request);
    if (identity == null) {
      return;
    }
    if (node.draining()) {
      request.response().setStatusCode(503).end("node shutting down");
      return;
    }
    String address = ClientAddress.of(request, config.trustProxy());
    boolean admitted = node.tryOpen(config.maxConnections());
    request
        .toWebSocket()
        .onSuccess(
            ws -> {
              if (!admitted) {
                metrics.closed(CloseCode.OVERLOADED);
                ws.close(CloseCode.OVERLOADED.code(), CloseCode.OVERLOADED.reason());
              } else if (!slots.limited()) {
                accept(ws, identity, List.of());
              } else {
                admitWithinLimits(ws, identity, address);
              }
            })
        .onFailure(
            e -> {
              if (admitted) {
                node.closed();
              }
              LOG.debug("upgrade failed: {}", e.getMessage());
            });
  }

  /**
   * Takes the connection's per-address and per-user slots first. Over a limit, it is closed with
   * 1013 after the upgrade, like the node limit: a browser sees a close code, never an HTTP status.
   */
  private void admitWithinLimits(ServerWebSocket ws, Identity identity, String address) {
    // Frames that arrive while the slots are being taken wait for the session.
    ws.pause();
    slots
        .take(address, identity.user())
        .onComplete(
            ar -> {
              List<String> held = ar.result();
              if (held == null) {
                node.closed();
                LOG.debug(
                    "connection of {} refused: too many connections for the user or address",
                    identity.user());
                metrics.closed(CloseCode.TOO_MANY_CONNECTIONS);
                ws.close(
                    CloseCode.TOO_MANY_CONNECTIONS.code(), CloseCode.TOO_MANY_CONNECTIONS.reason());
                return;
              }
              accept(ws, identity, held);
              try {
                ws.resume();
              } catch (IllegalStateException closedAlready) {
                // the client went away meanwhile; its close handler released everything
              }
            });
  }

  /**
   * The conformance tests' echo socket: no identity, no rooms, not counted as a chat connection.
   */
  private void echo(RoutingContext ctx) {
    ctx.request()
        .toWebSocket()
        .onSuccess(ws -> EchoConnection.attach(ws, config.maxFrameBytes()))
        .onFailure(e -> LOG.debug("echo upgrade failed: {}", e.getMessage()));
  }

  private void accept(ServerWebSocket ws, Identity identity, List<String> held) {
    // Vert.x keeps the handshake's request headers for the socket's life: every header the browser
    // sent, its cookies and user agent included. The rules and the client address read them
    // before the upgrade, and nothing reads them after it, so they are released here.
    ws.headers().clear();
    String connId = UUID.randomUUID().toString();
    Runnable closed =
        () -> {
          sessions.remove(connId);
          node.closed();
          if (!held.isEmpty()) {
            slots.release(held);
          }
        };
    SocketConnection socket =
        new SocketConnection(
            ws, config.maxFrameBytes(), config.maxWriteQueueBytes(), sharedFrames, closed);
    Session session =
        new Session(vertx, config, hub, backend.broker(), socket, identity, connId, metrics);
    sessions.put(connId, session);
    socket.attach(session);
  }
}
