package dev.chat.http.api;

import dev.chat.broker.Broker;
import dev.chat.broker.Disconnected;
import dev.chat.broker.Draft;
import dev.chat.broker.Page;
import dev.chat.broker.ReadRequest;
import dev.chat.broker.Snapshot;
import dev.chat.broker.Stored;
import dev.chat.protocol.FieldChecks;
import dev.chat.protocol.Names;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The server API of one event loop, for the application's backend: publish, direct messages,
 * history, presence and disconnect over HTTP, through that loop's broker, behind a bearer key.
 *
 * <p>Messages go through the same broker calls as a socket's {@code send} and {@code dm} (the same
 * de-duplication on {@code id}, storage and fan-out); bodies are checked with the frames' field
 * rules ({@link FieldChecks}).
 */
public final class ServerApi {

  static final String OPENAPI = "api/openapi.json";

  private final Broker broker;
  private final ApiKey key;
  private final long bodyLimit;
  private final ApiMetrics metrics;

  /** {@code bodyLimit}: the largest body accepted, in bytes; larger ones get 413. */
  public ServerApi(Broker broker, String key, long bodyLimit, MeterRegistry registry) {
    this.broker = broker;
    this.key = new ApiKey(key);
    this.bodyLimit = bodyLimit;
    this.metrics = new ApiMetrics(registry);
  }

  /**
   * Adds every {@code /api} route to {@code router}; each route's name is its endpoint (the
   * operationId in {@code openapi.json}). Any other path under {@code /api} gets a JSON 404, after
   * the key check like everything else there.
   */
  public void mount(Router router) {
    endpoint(router.post("/api/rooms/:room/messages"), "publish", true, this::publish);
    endpoint(router.post("/api/users/:user/messages"), "direct", true, this::direct);
    endpoint(router.get("/api/rooms/:room/messages"), "history", false, this::history);
    endpoint(router.get("/api/rooms/:room/presence"), "presence", false, this::presence);
    endpoint(router.post("/api/users/:user/disconnect"), "disconnect", false, this::disconnect);
    endpoint(router.get("/api/openapi.json"), "openapi", false, this::openapi);
    router.route("/api/*").handler(ctx -> track(ctx, "unknown")).handler(this::authorize);
    router.route("/api/*").handler(Answers::notFound);
    router.route("/api/*").failureHandler(ctx -> Answers.failed(ctx, bodyLimit));
  }

  // reader::handle is needed: passed as itself, the BodyHandler would be put before authorize.
  @SuppressWarnings("UnnecessaryMethodReference")
  private void endpoint(Route route, String name, boolean body, Handler<RoutingContext> handler) {
    route.setName(name).handler(ctx -> track(ctx, name)).handler(this::authorize);
    if (body) {
      // Read only once the key has passed, so a stranger cannot make the node buffer bodies.
      // vertx-web refuses a BodyHandler after a user handler; called from one, it works as long
      // as everything before it runs synchronously (no chunk can arrive unseen), as these do.
      BodyHandler reader = BodyHandler.create(false).setBodyLimit(bodyLimit);
      route.handler(reader::handle);
    }
    route.handler(handler);
  }

  /** First on every route, so that refused requests are counted too. */
  private void track(RoutingContext ctx, String endpoint) {
    metrics.track(ctx, endpoint);
    ctx.next();
  }

  private void authorize(RoutingContext ctx) {
    if (key.matches(ctx.request().getHeader("Authorization"))) {
      ctx.next();
    } else {
      Answers.unauthorized(ctx);
    }
  }

  private void publish(RoutingContext ctx) {
    String room = ctx.pathParam("room");
    JsonObject body = MessageBody.read(ctx, FieldChecks.room(room));
    if (body == null) {
      return;
    }
    if (Names.isInbox(room)) {
      Answers.badRequest(
          ctx, "room must be a room, not an inbox: POST /api/users/{user}/messages sends a dm");
      return;
    }
    Draft draft =
        new Draft(room, body.getString("from"), body.getString("id"), body.getString("text"), null);
    answerStored(ctx, broker.publish(draft));
  }

  private void direct(RoutingContext ctx) {
    String to = ctx.pathParam("user");
    JsonObject body = MessageBody.read(ctx, FieldChecks.user("user", to));
    if (body == null) {
      return;
    }
    answerStored(
        ctx,
        broker.publishDirect(
            body.getString("from"), to, body.getString("id"), body.getString("text")));
  }

  private void history(RoutingContext ctx) {
    String room = ctx.pathParam("room");
    HistoryQuery query = HistoryQuery.read(ctx, FieldChecks.room(room));
    if (query == null) {
      return;
    }
    broker
        .history(room, query.before(), query.limit())
        .onSuccess(page -> Answers.ok(ctx, historyAnswer(room, query.before(), page)))
        .onFailure(e -> Answers.brokerFailed(ctx, e));
  }

  private void presence(RoutingContext ctx) {
    String room = ctx.pathParam("room");
    String problem = FieldChecks.room(room);
    if (problem != null) {
      Answers.badRequest(ctx, problem);
      return;
    }
    broker
        .read(room, ReadRequest.stateOnly())
        .onSuccess(s -> Answers.ok(ctx, presenceAnswer(room, s)))
        .onFailure(e -> Answers.brokerFailed(ctx, e));
  }

  private void disconnect(RoutingContext ctx) {
    String user = ctx.pathParam("user");
    String problem = FieldChecks.user("user", user);
    if (problem != null) {
      Answers.badRequest(ctx, problem);
      return;
    }
    broker
        .disconnect(user)
        .onSuccess(d -> Answers.ok(ctx, disconnectAnswer(d)))
        .onFailure(e -> Answers.brokerFailed(ctx, e));
  }

  private void openapi(RoutingContext ctx) {
    ctx.response().putHeader("Content-Type", "application/json").sendFile(OPENAPI);
  }

  private static void answerStored(RoutingContext ctx, Future<Stored> stored) {
    stored
        .onSuccess(
            s ->
                Answers.ok(
                    ctx,
                    new JsonObject()
                        .put("room", s.room())
                        .put("seq", s.seq())
                        .put("ts", s.ts())
                        .put("duplicate", s.duplicate())))
        .onFailure(e -> Answers.brokerFailed(ctx, e));
  }

  /**
   * The {@code history} frame's fields but {@code type}; the messages are the stored frames as they
   * are, so they match live delivery byte for byte.
   */
  private static Buffer historyAnswer(String room, Long before, Page page) {
    Buffer out = Buffer.buffer();
    out.appendString("{\"room\":").appendString(Json.encode(room));
    out.appendString(",\"epoch\":").appendString(Json.encode(page.epoch()));
    if (before != null) {
      out.appendString(",\"before\":").appendString(before.toString());
    }
    out.appendString(",\"messages\":[");
    for (int i = 0; i < page.messages().size(); i++) {
      if (i > 0) {
        out.appendByte((byte) ',');
      }
      out.appendBytes(page.messages().get(i));
    }
    return out.appendString("],\"more\":")
        .appendString(Boolean.toString(page.more()))
        .appendString("}");
  }

  private static JsonObject presenceAnswer(String room, Snapshot s) {
    return new JsonObject()
        .put("room", room)
        .put("online", s.online())
        .put("users", new JsonArray(s.users()))
        .put("truncated", s.usersTruncated());
  }

  private static JsonObject disconnectAnswer(Disconnected d) {
    return new JsonObject().put("closed", d.closed()).put("complete", d.complete());
  }
}
