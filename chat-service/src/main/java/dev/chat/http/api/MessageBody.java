package dev.chat.http.api;

import dev.chat.protocol.FieldChecks;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The body of a message request, {@code {"id","from","text"}}, checked with the {@code send}
 * frame's rules for {@code id} and {@code text} and the user id rule for {@code from}.
 */
final class MessageBody {

  private MessageBody() {}

  /**
   * The body when it and {@code pathProblem} (the path parameter's check, null if valid) pass;
   * otherwise answers 400 naming the first wrong field and returns null.
   */
  static JsonObject read(RoutingContext ctx, String pathProblem) {
    String problem = pathProblem;
    JsonObject body = null;
    if (problem == null) {
      body = parse(ctx);
      problem = body == null ? "the body must be a JSON object" : check(body);
    }
    if (problem != null) {
      Answers.badRequest(ctx, problem);
      return null;
    }
    return body;
  }

  private static String check(JsonObject body) {
    String problem = FieldChecks.id(body.getValue("id"));
    if (problem == null) {
      problem = FieldChecks.user("from", body.getValue("from"));
    }
    return problem != null ? problem : FieldChecks.text(body.getValue("text"));
  }

  private static JsonObject parse(RoutingContext ctx) {
    if (ctx.body().buffer() == null || ctx.body().length() == 0) {
      return null;
    }
    try {
      return ctx.body().buffer().toJsonValue() instanceof JsonObject o ? o : null;
    } catch (RuntimeException malformed) {
      return null;
    }
  }
}
