package dev.chat.http.api;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.ext.web.RoutingContext;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Per-endpoint series of the server API: {@code chat_api_requests_seconds{endpoint}} (time from the
 * request to the end of its answer) and {@code chat_api_responses_total{endpoint,status}}. Every
 * series exists from the start, as the service's others do; a status outside the known ones counts
 * under {@code other}.
 */
final class ApiMetrics {

  /** Every endpoint's name: the operationId in openapi.json, and {@code unknown} for the rest. */
  static final List<String> ENDPOINTS =
      List.of("publish", "direct", "history", "presence", "disconnect", "openapi", "unknown");

  static final List<String> STATUSES =
      List.of("200", "400", "401", "404", "413", "500", "503", "other");

  private final Map<String, Timer> timers = new HashMap<>();
  private final Map<String, Counter> responses = new HashMap<>();

  ApiMetrics(MeterRegistry registry) {
    for (String endpoint : ENDPOINTS) {
      timers.put(
          endpoint,
          Timer.builder("chat.api.requests")
              .tag("endpoint", endpoint)
              .description("server API requests, from arrival to the end of the answer")
              .register(registry));
      for (String status : STATUSES) {
        responses.put(
            endpoint + ' ' + status,
            Counter.builder("chat.api.responses")
                .tag("endpoint", endpoint)
                .tag("status", status)
                .description("server API answers by endpoint and HTTP status")
                .register(registry));
      }
    }
  }

  /** Records {@code ctx}'s request under {@code endpoint} once its answer has ended. */
  void track(RoutingContext ctx, String endpoint) {
    long start = System.nanoTime();
    ctx.addEndHandler(
        ar -> {
          timers.get(endpoint).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
          String status = Integer.toString(ctx.response().getStatusCode());
          Counter c = responses.get(endpoint + ' ' + status);
          (c != null ? c : responses.get(endpoint + " other")).increment();
        });
  }
}
