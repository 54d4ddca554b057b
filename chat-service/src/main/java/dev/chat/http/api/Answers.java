package dev.chat.http.api;

import dev.chat.broker.BrokerUnavailableException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The server API's JSON answers, errors included, in the shapes the contract gives them. */
final class Answers {

  private static final Logger LOG = LoggerFactory.getLogger(Answers.class);
  private static final String UNAVAILABLE =
      new JsonObject().put("error", "unavailable").put("retryable", true).encode();

  private Answers() {}

  static void ok(RoutingContext ctx, JsonObject body) {
    json(ctx, 200, body.toBuffer());
  }

  static void ok(RoutingContext ctx, Buffer body) {
    json(ctx, 200, body);
  }

  static void badRequest(RoutingContext ctx, String message) {
    error(ctx, 400, "bad_request", message);
  }

  static void unauthorized(RoutingContext ctx) {
    ctx.response().putHeader("WWW-Authenticate", "Bearer");
    error(ctx, 401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>");
  }

  static void notFound(RoutingContext ctx) {
    error(
        ctx,
        404,
        "not_found",
        "no such endpoint: " + ctx.request().method() + " " + ctx.request().path());
  }

  /** A broker call failed: 503 when the broker cannot be reached, else 500 (and a log line). */
  static void brokerFailed(RoutingContext ctx, Throwable e) {
    if (e instanceof BrokerUnavailableException) {
      json(ctx, 503, Buffer.buffer(UNAVAILABLE));
    } else {
      LOG.warn("server API {} failed: {}", ctx.request().path(), e.toString());
      error(ctx, 500, "internal", "unexpected server error");
    }
  }

  /** What a handler or the body limit failed with, as JSON. */
  static void failed(RoutingContext ctx, long bodyLimit) {
    if (ctx.statusCode() == 413) {
      error(ctx, 413, "too_large", "the body must be at most " + bodyLimit + " bytes");
    } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      error(ctx, ctx.statusCode(), "bad_request", "the request could not be read");
    } else {
      LOG.warn("server API {} failed", ctx.request().path(), ctx.failure());
      error(ctx, 500, "internal", "unexpected server error");
    }
  }

  private static void error(RoutingContext ctx, int status, String error, String message) {
    json(ctx, status, new JsonObject().put("error", error).put("message", message).toBuffer());
  }

  private static void json(RoutingContext ctx, int status, Buffer body) {
    if (ctx.response().ended() || ctx.response().closed()) {
      return;
    }
    ctx.response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(body);
  }
}
