package dev.chat.it;

import static dev.chat.it.ApiClient.message;
import static dev.chat.it.ApiClient.segment;
import static dev.chat.testing.TestIds.id;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.it.ApiClient.Answer;
import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The server API on two real nodes over one real Redis, driven over HTTP as an application's
 * backend would, with real WebSocket clients on both nodes watching what it does.
 */
@Timeout(90)
class ServerApiIT {

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("api")
          .env(ChatCluster.QUIET_TIMERS)
          .env("CHAT_API_KEY", ApiClient.KEY)
          .nodes(2)
          .build();

  private final ApiClient apiA = new ApiClient(cluster.a().port());
  private final ApiClient apiB = new ApiClient(cluster.b().port());

  @Test
  @DisplayName(
      "a message posted to one node reaches the room's members on both nodes, from the given author, with the seq the answer names")
  void publishReachesBothNodes() {
    String room = room();
    ChatPeer alice = cluster.connect(cluster.a(), user("alice"));
    ChatPeer bob = cluster.connect(cluster.b(), user("bob"));
    alice.join(room);
    bob.join(room);

    String id = id();
    JsonObject stored = apiA.publish(room, id, "system", "maintenance at noon");

    assertThat(stored.getString("room")).isEqualTo(room);
    assertThat(stored.getLong("seq")).isEqualTo(1L);
    assertThat(stored.getBoolean("duplicate")).isFalse();
    for (ChatPeer member : List.of(alice, bob)) {
      JsonObject m = member.awaitMessages(room, 1).get(0);
      assertThat(m.getString("from")).isEqualTo("system");
      assertThat(m.getString("id")).isEqualTo(id);
      assertThat(m.getString("text")).isEqualTo("maintenance at noon");
      assertThat(m.getLong("seq")).isEqualTo(stored.getLong("seq"));
      assertThat(m.getLong("ts")).isEqualTo(stored.getLong("ts"));
    }
  }

  @Test
  @DisplayName(
      "a repeated id, on either node, is answered duplicate:true with the first seq, and no second message is stored or delivered")
  void repeatedIdIsDeduplicated() {
    String room = room();
    ChatPeer alice = cluster.connect(cluster.a(), user("alice"));
    alice.join(room);
    String id = id();
    JsonObject first = apiA.publish(room, id, "bot", "once");

    JsonObject again = apiB.publish(room, id, "bot", "once");
    JsonObject edited = apiA.publish(room, id, "bot", "other text, same id");

    for (JsonObject repeat : List.of(again, edited)) {
      assertThat(repeat.getBoolean("duplicate")).isTrue();
      assertThat(repeat.getLong("seq")).isEqualTo(first.getLong("seq"));
      assertThat(repeat.getLong("ts")).isEqualTo(first.getLong("ts"));
    }
    // A later message is the fence: once it has arrived, a second copy would have too.
    String fenceId = id();
    JsonObject fence = apiA.publish(room, fenceId, "bot", "fence");
    assertThat(fence.getLong("seq")).isEqualTo(first.getLong("seq") + 1);
    alice.awaitSeq(room, fence.getLong("seq"));
    assertThat(alice.messages(room))
        .extracting(m -> m.getString("id"))
        .containsExactly(id, fenceId);
    assertThat(historyOf(apiB, room, "").getJsonArray("messages")).hasSize(2);
    JsonObject sameIdOtherAuthor = apiA.publish(room, id, "other-bot", "not a repeat");
    assertThat(sameIdOtherAuthor.getBoolean("duplicate"))
        .as("de-duplication is per author, as for sends")
        .isFalse();
  }

  @Test
  @DisplayName(
      "a direct message to an offline user waits in their inbox and arrives when they join it; the answer names the sender's inbox")
  void directMessageWaitsForAnOfflineUser() {
    String alice = user("alice");
    String bob = user("bob");
    ChatPeer aliceOnA = cluster.connect(cluster.a(), alice);
    aliceOnA.join("@" + alice);
    String id = id();

    Answer sent =
        apiB.post("/api/users/" + segment(bob) + "/messages", message(id, alice, "welcome, bob"));

    assertThat(sent.status()).as(sent.toString()).isEqualTo(200);
    assertThat(sent.json().getString("room")).isEqualTo("@" + alice);
    assertThat(sent.json().getBoolean("duplicate")).isFalse();
    JsonObject copy = aliceOnA.awaitMessages("@" + alice, 1).get(0);
    assertThat(copy.getLong("seq")).isEqualTo(sent.json().getLong("seq"));
    assertThat(copy.getString("to")).isEqualTo(bob);

    ChatPeer bobOnB = cluster.connect(cluster.b(), bob);
    bobOnB.join("@" + bob);
    JsonObject waiting = bobOnB.awaitMessages("@" + bob, 1).get(0);
    assertThat(waiting.getString("from")).isEqualTo(alice);
    assertThat(waiting.getString("to")).isEqualTo(bob);
    assertThat(waiting.getString("id")).isEqualTo(id);
    assertThat(waiting.getString("text")).isEqualTo("welcome, bob");

    Answer repeat =
        apiA.post("/api/users/" + segment(bob) + "/messages", message(id, alice, "welcome, bob"));
    assertThat(repeat.json().getBoolean("duplicate")).isTrue();
    assertThat(repeat.json().getLong("seq")).isEqualTo(sent.json().getLong("seq"));
  }

  /**
   * The WebSocket protocol has no {@code history} frame yet (ClientCodec decodes none), so the
   * pages are held against what the socket does serve: the join's replay of the same stored
   * messages.
   */
  @Test
  @DisplayName(
      "history pages, walked back with before, hold exactly the messages a join replays, as the same frames, in the room's epoch")
  void historyPagesMatchTheReplay() {
    String room = room();
    ChatPeer alice = cluster.connect(cluster.a(), user("alice"));
    alice.join(room);
    for (int i = 1; i <= 7; i++) {
      assertThat(alice.say(room, id(), "message " + i).getString("type")).isEqualTo("ack");
    }
    ChatPeer reader = cluster.connect(cluster.b(), user("reader"));
    JsonObject joined = reader.join(room);
    List<JsonObject> replay = reader.awaitMessages(room, 7);

    JsonObject newest = historyOf(apiB, room, "?limit=3");
    assertThat(newest.getString("room")).isEqualTo(room);
    assertThat(newest.getString("epoch")).isEqualTo(joined.getString("epoch"));
    assertThat(newest.getBoolean("more")).isTrue();
    assertThat(messages(newest)).containsExactlyElementsOf(replay.subList(4, 7));

    List<JsonObject> walked = new ArrayList<>(messages(newest));
    JsonObject page = newest;
    while (page.getBoolean("more")) {
      long before = messages(page).get(0).getLong("seq");
      page = historyOf(apiA, room, "?limit=3&before=" + before);
      assertThat(page.getLong("before")).isEqualTo(before);
      walked.addAll(0, messages(page));
    }
    assertThat(walked).containsExactlyElementsOf(replay);
    assertThat(messages(historyOf(apiA, room, ""))).as("limit 50 by default").hasSize(7);
    assertThat(messages(historyOf(apiA, room, "?before=1"))).isEmpty();
    assertThat(messages(historyOf(apiA, room, "?before=3&limit=100")))
        .containsExactlyElementsOf(replay.subList(0, 2));
  }

  @Test
  @DisplayName("presence counts the distinct users online in a room across both nodes, on either")
  void presenceAcrossNodes() {
    String room = room();
    String alice = user("alice");
    String bob = user("bob");
    cluster.connect(cluster.a(), alice).join(room);
    cluster.connect(cluster.b(), alice).join(room);
    cluster.connect(cluster.b(), bob).join(room);

    for (ApiClient api : List.of(apiA, apiB)) {
      Answer a = api.get("/api/rooms/" + room + "/presence");
      assertThat(a.status()).as(a.toString()).isEqualTo(200);
      assertThat(a.json().getInteger("online")).isEqualTo(2);
      assertThat(a.json().getJsonArray("users").getList()).containsExactlyInAnyOrder(alice, bob);
      assertThat(a.json().getBoolean("truncated")).isFalse();
    }
    Answer empty = apiA.get("/api/rooms/" + room() + "/presence");
    assertThat(empty.json().getInteger("online")).isZero();
    assertThat(empty.json().getJsonArray("users")).isEmpty();
  }

  @Test
  @DisplayName(
      "a disconnect closes every connection of the user on both nodes with 4003, counts them, and leaves other users connected")
  void disconnectClosesEveryConnectionWith4003() {
    String mallory = user("mallory");
    List<ChatPeer> hers =
        List.of(
            cluster.connect(cluster.a(), mallory),
            cluster.connect(cluster.a(), mallory),
            cluster.connect(cluster.b(), mallory));
    ChatPeer carol = cluster.connect(cluster.a(), user("carol"));
    String room = room();
    hers.get(2).join(room);
    carol.join(room);

    Answer a = apiB.post("/api/users/" + segment(mallory) + "/disconnect");

    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    assertThat(a.json().getInteger("closed")).isEqualTo(3);
    assertThat(a.json().getBoolean("complete")).isTrue();
    for (ChatPeer peer : hers) {
      assertThat(peer.awaitClose(ChatPeer.WAIT)).as(peer.toString()).isEqualTo(4003);
    }
    carol.pingPong();
    carol.claim(
        f -> "presence".equals(f.getString("type")) && mallory.equals(f.getString("user")),
        "mallory's leave");
    Answer again = apiA.post("/api/users/" + segment(mallory) + "/disconnect");
    assertThat(again.json().getInteger("closed")).as("nothing left to close").isZero();
  }

  @Test
  @DisplayName(
      "without a key, with a wrong key or another scheme every /api path answers 401, and nothing is stored")
  void refusesMissingAndWrongKeys() {
    String room = room();
    List<ApiClient> refused =
        List.of(
            apiA.withKey(null),
            apiA.withKey("wrong-key-0123456789abcdef"),
            apiA.withKey(ApiClient.KEY + "x"),
            apiA.withKey(ApiClient.KEY.substring(1)));
    for (ApiClient api : refused) {
      for (Answer a :
          List.of(
              api.post("/api/rooms/" + room + "/messages", message(id(), "system", "no")),
              api.post("/api/users/bob/messages", message(id(), "system", "no")),
              api.get("/api/rooms/" + room + "/messages"),
              api.get("/api/rooms/" + room + "/presence"),
              api.post("/api/users/bob/disconnect"),
              api.get("/api/openapi.json"),
              api.get("/api/no-such-endpoint"))) {
        assertThat(a.status()).as(a.toString()).isEqualTo(401);
        assertThat(a.json().getString("error")).isEqualTo("unauthorized");
      }
    }
    assertThat(apiA.withAuthorization("Basic " + ApiClient.KEY).get("/api/openapi.json").status())
        .as("the Bearer scheme only")
        .isEqualTo(401);
    assertThat(apiA.withAuthorization("Bearer").get("/api/openapi.json").status()).isEqualTo(401);
    assertThat(apiA.withAuthorization("bearer " + ApiClient.KEY).get("/api/openapi.json").status())
        .as("the scheme is case-insensitive (RFC 9110)")
        .isEqualTo(200);
    assertThat(messages(historyOf(apiA, room, ""))).as("nothing was stored").isEmpty();
  }

  @Test
  @DisplayName(
      "a malformed body or parameter gets 400 bad_request naming the wrong field, with the WebSocket frames' rules")
  void badRequestsNameTheField() {
    String room = room();
    String path = "/api/rooms/" + room + "/messages";
    assertThat(apiA.post(path, "{not json").badRequest()).contains("JSON object");
    assertThat(apiA.post(path, "[1,2]").badRequest()).contains("JSON object");
    assertThat(apiA.post(path, "").badRequest()).contains("JSON object");
    assertThat(
            apiA.post(path, new JsonObject().put("from", "system").put("text", "t")).badRequest())
        .isEqualTo("id is required");
    assertThat(apiA.post(path, message("x".repeat(65), "system", "t")).badRequest())
        .isEqualTo("id must be 1-64 characters with no control characters");
    assertThat(
            apiA.post(path, new JsonObject().put("id", 7).put("from", "system").put("text", "t"))
                .badRequest())
        .isEqualTo("id must be a string");
    assertThat(apiA.post(path, new JsonObject().put("id", "a").put("text", "t")).badRequest())
        .isEqualTo("from is required");
    assertThat(apiA.post(path, message("a", "not a user!", "t")).badRequest())
        .isEqualTo("from must be a valid user id");
    assertThat(apiA.post(path, message("a", "system", "   ")).badRequest())
        .isEqualTo("text must not be blank");
    assertThat(apiA.post(path, message("a", "system", "x".repeat(4001))).badRequest())
        .isEqualTo("text must be at most 4000 characters");
    assertThat(apiA.post(path, new JsonObject().put("id", "a").put("from", "system")).badRequest())
        .isEqualTo("text is required");
    assertThat(apiA.post("/api/rooms/bad%20room/messages", message("a", "s", "t")).badRequest())
        .startsWith("room must be");
    assertThat(apiA.post("/api/rooms/%40bob/messages", message("a", "s", "t")).badRequest())
        .contains("inbox");
    assertThat(apiA.post("/api/users/no%20one/messages", message("a", "s", "t")).badRequest())
        .isEqualTo("user must be a valid user id");
    assertThat(apiA.post("/api/users/no%20one/disconnect").badRequest())
        .isEqualTo("user must be a valid user id");
    assertThat(apiA.get("/api/rooms/bad%20room/presence").badRequest()).startsWith("room must be");
    assertThat(apiA.get(path + "?before=-1").badRequest())
        .isEqualTo("before must be a non-negative integer");
    assertThat(apiA.get(path + "?before=abc").badRequest())
        .isEqualTo("before must be a non-negative integer");
    for (String limit : List.of("0", "101", "ten", "1.5")) {
      assertThat(apiA.get(path + "?limit=" + limit).badRequest())
          .isEqualTo("limit must be an integer from 1 to 100");
    }
    assertThat(messages(historyOf(apiA, room, ""))).as("nothing was stored").isEmpty();
  }

  @Test
  @DisplayName("a body larger than CHAT_MAX_FRAME_BYTES is refused with 413 too_large")
  void oversizedBodyIsRefused() {
    String room = room();
    Answer a =
        apiA.post("/api/rooms/" + room + "/messages", message(id(), "system", "x".repeat(70_000)));
    assertThat(a.status()).isEqualTo(413);
    assertThat(a.json().getString("error")).isEqualTo("too_large");
    assertThat(messages(historyOf(apiA, room, ""))).isEmpty();
  }

  @Test
  @DisplayName(
      "every operation /api/openapi.json describes is served (none answers the catch-all 404), and other /api paths get a JSON 404")
  void describedRoutesAreServed() {
    Answer doc = apiA.get("/api/openapi.json");
    assertThat(doc.status()).isEqualTo(200);
    JsonObject paths = doc.json().getJsonObject("paths");
    assertThat(doc.json().getString("openapi")).startsWith("3.");
    int operations = 0;
    for (String path : paths.fieldNames()) {
      String concrete = path.replace("{room}", room()).replace("{user}", user("u"));
      for (String method : paths.getJsonObject(path).fieldNames()) {
        Answer a =
            switch (method) {
              case "get" -> apiB.get(concrete);
              case "post" -> apiB.post(concrete, message(id(), "system", "described"));
              default -> throw new AssertionError("unexpected method " + method + " " + path);
            };
        assertThat(a.status()).as(method + " " + path + ": " + a).isEqualTo(200);
        operations++;
      }
    }
    assertThat(operations).isEqualTo(6);
    Answer unknown = apiA.get("/api/rooms");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().getString("error")).isEqualTo("not_found");
    assertThat(apiA.post("/api/rooms/" + room() + "/presence").status())
        .as("a described path with a method it does not have")
        .isEqualTo(404);
  }

  @Test
  @DisplayName("/metrics counts the API's answers per endpoint and status, and times each endpoint")
  void metricsPerEndpoint() {
    ChatNode node = cluster.a();
    double published = sample(node, "chat_api_responses_total", "publish", "200");
    double refused = sample(node, "chat_api_responses_total", "presence", "401");
    double timed = sample(node, "chat_api_requests_seconds_count", "history", null);

    apiA.publish(room(), id(), "system", "counted");
    apiA.withKey(null).get("/api/rooms/" + room() + "/presence");
    apiA.get("/api/rooms/" + room() + "/messages");

    // An answer is counted when the server has finished writing it, which may be just after the
    // client read it: wait for the count, then check it moved by exactly one.
    assertThat(awaitSample(node, "chat_api_responses_total", "publish", "200", published + 1))
        .isEqualTo(published + 1);
    assertThat(awaitSample(node, "chat_api_responses_total", "presence", "401", refused + 1))
        .isEqualTo(refused + 1);
    assertThat(awaitSample(node, "chat_api_requests_seconds_count", "history", null, timed + 1))
        .isEqualTo(timed + 1);
    for (String endpoint :
        List.of("publish", "direct", "history", "presence", "disconnect", "openapi", "unknown")) {
      for (String status : List.of("200", "400", "401", "404", "413", "500", "503", "other")) {
        sample(node, "chat_api_responses_total", endpoint, status);
      }
      sample(node, "chat_api_requests_seconds_count", endpoint, null);
    }
  }

  private static JsonObject historyOf(ApiClient api, String room, String query) {
    Answer a = api.get("/api/rooms/" + room + "/messages" + query);
    assertThat(a.status()).as(a.toString()).isEqualTo(200);
    return a.json();
  }

  private static List<JsonObject> messages(JsonObject page) {
    JsonArray messages = page.getJsonArray("messages");
    List<JsonObject> out = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      out.add(messages.getJsonObject(i));
    }
    return out;
  }

  /** The value of one series of {@code node}'s {@code /metrics}; fails when it is missing. */
  private static double sample(ChatNode node, String name, String endpoint, String status) {
    for (String line : MetricsText.scrape(node).split("\n")) {
      if (line.startsWith(name + "{")
          && line.contains("endpoint=\"" + endpoint + "\"")
          && (status == null || line.contains("status=\"" + status + "\""))) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no series " + name + " for " + endpoint + " " + status);
  }

  /** Scrapes until the series reaches {@code atLeast} or the wait ends; returns the last value. */
  private static double awaitSample(
      ChatNode node, String name, String endpoint, String status, double atLeast) {
    long deadline = System.nanoTime() + ChatPeer.WAIT.toNanos();
    double v = sample(node, name, endpoint, status);
    while (v < atLeast && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      v = sample(node, name, endpoint, status);
    }
    return v;
  }
}
