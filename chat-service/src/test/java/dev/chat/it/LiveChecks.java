package dev.chat.it;

import dev.chat.testing.ClientFrames;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.WsClient;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * What the failure, presence and connection-rule tests share: random names, client frames, a
 * polling wait with a deadline, and a way to prove that a frame did NOT arrive (a marker message
 * sent afterwards on the same room overtakes nothing, so everything before it has arrived).
 */
final class LiveChecks {

  static final Duration WAIT = Duration.ofSeconds(10);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private LiveChecks() {}

  static String room() {
    return "r-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static String user(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 6);
  }

  static JsonObject join(String room) {
    return ClientFrames.join(room);
  }

  static JsonObject leave(String room) {
    return ClientFrames.leave(room);
  }

  static JsonObject send(String room, String id, String text) {
    return ClientFrames.send(room, id, text);
  }

  /** Joins {@code room} and returns the {@code joined} frame. */
  static JsonObject joinRoom(WsClient client, String room) {
    client.send(join(room));
    return client.awaitMatching(
        f -> "joined".equals(f.getString("type")) && room.equals(f.getString("room")), WAIT);
  }

  /** Polls {@code condition} until it holds; fails with {@code what} after {@code timeout}. */
  static void awaitTrue(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + timeout + ": " + what);
      }
      pause(Duration.ofMillis(25));
    }
  }

  /**
   * Polls {@code condition} for {@code period} and fails as soon as it stops holding: for
   * properties that must stay true (a connection stays open) rather than become true.
   */
  static void assertHoldsFor(String what, Duration period, BooleanSupplier condition) {
    long end = System.nanoTime() + period.toNanos();
    while (System.nanoTime() < end) {
      if (!condition.getAsBoolean()) {
        throw new AssertionError("stopped holding: " + what);
      }
      pause(Duration.ofMillis(25));
    }
  }

  /**
   * {@code sender} (a member of {@code room}) sends a marker message; returns, for each observer,
   * every frame it received before that marker. Messages of one room reach a connection in the
   * order Redis published them, so a presence frame published before the marker is in the list.
   */
  static List<List<JsonObject>> framesBeforeMarker(
      WsClient sender, String room, WsClient... observers) {
    String id = "marker-" + UUID.randomUUID().toString().substring(0, 8);
    sender.send(send(room, id, "marker"));
    List<List<JsonObject>> before = new ArrayList<>();
    for (WsClient observer : observers) {
      List<JsonObject> frames = new ArrayList<>();
      observer.awaitMatching(
          f -> {
            if ("message".equals(f.getString("type")) && id.equals(f.getString("id"))) {
              return true;
            }
            frames.add(f);
            return false;
          },
          WAIT);
      before.add(frames);
    }
    return before;
  }

  static List<JsonObject> presences(List<JsonObject> frames) {
    return frames.stream().filter(f -> "presence".equals(f.getString("type"))).toList();
  }

  /** The next presence frame of {@code room} matching {@code event} and {@code user}. */
  static JsonObject awaitPresence(WsClient client, String room, String event, String user) {
    return awaitPresence(client, room, event, user, WAIT);
  }

  static JsonObject awaitPresence(
      WsClient client, String room, String event, String user, Duration timeout) {
    return client.awaitMatching(
        f ->
            "presence".equals(f.getString("type"))
                && room.equals(f.getString("room"))
                && event.equals(f.getString("event"))
                && user.equals(f.getString("user")),
        timeout);
  }

  /** The next text frame of a raw socket parsed as JSON and matching {@code predicate}. */
  static JsonObject awaitJson(RawWebSocket ws, Predicate<JsonObject> predicate, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> skipped = new ArrayList<>();
    while (true) {
      long left = deadline - System.nanoTime();
      RawWebSocket.Frame frame = left > 0 ? ws.pollFrame(Duration.ofNanos(left)) : null;
      if (frame == null) {
        throw new AssertionError(
            "no matching JSON frame within " + timeout + "; skipped " + skipped);
      }
      if (frame.opcode() == RawWebSocket.TEXT) {
        try {
          JsonObject json = new JsonObject(frame.text());
          if (predicate.test(json)) {
            return json;
          }
        } catch (DecodeException notJson) {
          // recorded below
        }
      }
      skipped.add(frame.toString());
    }
  }

  static JsonObject awaitType(RawWebSocket ws, String type) {
    return awaitJson(ws, f -> type.equals(f.getString("type")), WAIT);
  }

  /** A raw socket to {@code /ws?user=<user>} (the user must be ASCII). */
  static RawWebSocket raw(int port, String user) {
    return RawWebSocket.connect("127.0.0.1", port, "/ws?user=" + user);
  }

  record HttpAnswer(int status, String body) {}

  static HttpAnswer get(URI uri) {
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build();
    try {
      HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      return new HttpAnswer(response.statusCode(), response.body());
    } catch (IOException e) {
      throw new AssertionError("GET " + uri + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static void pause(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
