package dev.chat.http.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.MemoryBroker;
import dev.chat.broker.MemoryStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * openapi.json against the routes {@link ServerApi#mount} really adds to a Router: the same
 * operations, named alike, with the same path parameters. (ServerApiIT requests every described
 * operation of a running node.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiRoutesTest {

  private static final Pattern PATH_PARAM = Pattern.compile(":(\\w+)");

  private Vertx vertx;
  private List<Route> routes;
  private JsonObject doc;

  @BeforeAll
  void mountTheApi() throws IOException {
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    MemoryStore store = new MemoryStore(10, 1_000, System::currentTimeMillis);
    new ServerApi(
            new MemoryBroker(store, vertx.getOrCreateContext(), 10),
            "a-key-of-sixteen-bytes",
            65_536,
            new SimpleMeterRegistry())
        .mount(router);
    routes = router.getRoutes();
    try (InputStream in = ServerApi.class.getResourceAsStream("/" + ServerApi.OPENAPI)) {
      doc = new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  @AfterAll
  void closeVertx() {
    vertx.close();
  }

  @Test
  @DisplayName(
      "every route of the API is described, and every described operation is a route, under the same name")
  void documentMatchesTheRoutes() {
    Map<String, String> served = new TreeMap<>();
    for (Route route : routes) {
      if (route.methods() == null || route.methods().isEmpty()) {
        continue; // the catch-alls under /api, checked below
      }
      for (HttpMethod method : route.methods()) {
        served.put(
            method.name().toLowerCase(Locale.ROOT)
                + " "
                + PATH_PARAM.matcher(route.getPath()).replaceAll("{$1}"),
            route.getName());
      }
    }
    Map<String, String> described = new TreeMap<>();
    JsonObject paths = doc.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      for (String method : paths.getJsonObject(path).fieldNames()) {
        described.put(
            method + " " + path,
            paths.getJsonObject(path).getJsonObject(method).getString("operationId"));
      }
    }
    assertThat(served).isNotEmpty().isEqualTo(described);
  }

  @Test
  @DisplayName(
      "the only routes without a method are the catch-alls under /api, after every operation")
  void catchAllsComeLast() {
    List<String> catchAlls = new ArrayList<>();
    boolean operationAfterCatchAll = false;
    for (Route route : routes) {
      if (route.methods() == null || route.methods().isEmpty()) {
        catchAlls.add(route.getPath());
      } else if (!catchAlls.isEmpty()) {
        operationAfterCatchAll = true;
      }
    }
    assertThat(catchAlls).isNotEmpty().containsOnly("/api/");
    assertThat(operationAfterCatchAll).isFalse();
  }

  @Test
  @DisplayName("each operation describes exactly the parameters its route's path has")
  void pathParametersMatch() {
    JsonObject paths = doc.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      List<String> inPath = new ArrayList<>();
      Matcher m = Pattern.compile("\\{(\\w+)}").matcher(path);
      while (m.find()) {
        inPath.add(m.group(1));
      }
      for (String method : paths.getJsonObject(path).fieldNames()) {
        List<String> described = new ArrayList<>();
        var params = paths.getJsonObject(path).getJsonObject(method).getJsonArray("parameters");
        if (params != null) {
          for (int i = 0; i < params.size(); i++) {
            JsonObject p = params.getJsonObject(i);
            if ("path".equals(p.getString("in"))) {
              assertThat(p.getBoolean("required")).as(p.encode()).isTrue();
              described.add(p.getString("name"));
            }
          }
        }
        assertThat(described).as(method + " " + path).containsExactlyElementsOf(inPath);
      }
    }
    assertThat(doc.getString("openapi")).startsWith("3.");
  }
}
