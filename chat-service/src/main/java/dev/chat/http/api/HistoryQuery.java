package dev.chat.http.api;

import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * The query of a history request, with the {@code history} frame's rules: {@code before} a seq
 * (absent for the newest messages), {@code limit} 1–100, 50 when absent.
 */
record HistoryQuery(Long before, int limit) {

  static final int DEFAULT_LIMIT = 50;
  static final int MAX_LIMIT = 100;
  static final String BEFORE_RULE = "before must be a non-negative integer";
  static final String LIMIT_RULE = "limit must be an integer from 1 to " + MAX_LIMIT;

  /**
   * The query when it and {@code pathProblem} (the room's check, null if valid) pass; otherwise
   * answers 400 naming the wrong parameter and returns null.
   */
  static HistoryQuery read(RoutingContext ctx, String pathProblem) {
    if (pathProblem != null) {
      Answers.badRequest(ctx, pathProblem);
      return null;
    }
    Long before = number(ctx.queryParam("before"));
    Long limit = number(ctx.queryParam("limit"));
    if (before != null && before < 0) {
      Answers.badRequest(ctx, BEFORE_RULE);
      return null;
    }
    if (limit != null && (limit < 1 || limit > MAX_LIMIT)) {
      Answers.badRequest(ctx, LIMIT_RULE);
      return null;
    }
    return new HistoryQuery(before, limit == null ? DEFAULT_LIMIT : limit.intValue());
  }

  /** The parameter's one value as a number; null when absent, -1 when it is anything else. */
  private static Long number(List<String> values) {
    if (values.isEmpty()) {
      return null;
    }
    if (values.size() > 1 || !values.get(0).matches("[0-9]{1,18}")) {
      return -1L;
    }
    return Long.parseLong(values.get(0));
  }
}
