package dev.chat.it;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The application's backend as the tests play it: plain HTTP requests to a node's server API, with
 * a bearer key (or none), answers read as status and body.
 */
final class ApiClient {

  /** A key long enough for {@code CHAT_API_KEY} (16 bytes at least). */
  static final String KEY = "test-api-key-0123456789abcdef";

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** One answer: its status and body, and the body as JSON where it is an object. */
  record Answer(int status, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }

    /** A 400's message, failing unless the answer is a bad_request. */
    String badRequest() {
      if (status != 400 || !"bad_request".equals(json().getString("error"))) {
        throw new AssertionError("expected a 400 bad_request, got " + this);
      }
      return json().getString("message");
    }
  }

  private final int port;
  private final String authorization;

  /** A client of the API on {@code port} that sends {@code authorization} (null: none). */
  private ApiClient(String authorization, int port) {
    this.port = port;
    this.authorization = authorization;
  }

  /** A client of the API on {@code port} that sends {@code key} (null: no Authorization). */
  ApiClient(int port, String key) {
    this(key == null ? null : "Bearer " + key, port);
  }

  ApiClient(int port) {
    this(port, KEY);
  }

  /** The same client with another key (null: none). */
  ApiClient withKey(String other) {
    return new ApiClient(port, other);
  }

  /** The same client sending {@code header} as the whole Authorization header. */
  ApiClient withAuthorization(String header) {
    return new ApiClient(header, port);
  }

  Answer get(String path) {
    return send(request(path).GET());
  }

  Answer post(String path, String body) {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  Answer post(String path, JsonObject body) {
    return post(path, body.encode());
  }

  Answer post(String path) {
    return send(request(path).POST(HttpRequest.BodyPublishers.noBody()));
  }

  /** Posts a message to a room and returns the answer, failing unless it is 200. */
  JsonObject publish(String room, String id, String from, String text) {
    Answer a = post("/api/rooms/" + room + "/messages", message(id, from, text));
    if (a.status() != 200) {
      throw new AssertionError("publish failed: " + a);
    }
    return a.json();
  }

  static JsonObject message(String id, String from, String text) {
    return new JsonObject().put("id", id).put("from", from).put("text", text);
  }

  /** Percent-encodes one path segment (an inbox's {@code @}, a user's letters). */
  static String segment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(15));
    return authorization == null ? b : b.header("Authorization", authorization);
  }

  private static Answer send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
