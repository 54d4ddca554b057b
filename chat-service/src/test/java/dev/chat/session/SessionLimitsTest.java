package dev.chat.session;

import static dev.chat.session.SessionHarness.randomRoom;
import static dev.chat.session.SessionHarness.randomUser;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.auth.Identity;
import dev.chat.auth.RoomPatterns;
import dev.chat.broker.ReadRequest;
import dev.chat.protocol.CloseCode;
import dev.chat.session.SessionHarness.Client;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What a session enforces on behalf of the token and against floods, without a socket. */
@DisplayName("A session's limits")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionLimitsTest {

  @RegisterExtension final SessionHarnesses harnesses = new SessionHarnesses();
  private SessionHarness h;

  @Test
  @DisplayName("closes with 1008 once inbound frames of any kind exceed the frame budget")
  void frameBudget() {
    h = harnesses.open(Map.of("CHAT_FRAME_RATE_PER_SEC", "1", "CHAT_FRAME_BURST", "5"));
    Client alice = h.connect(randomUser("alice"));
    for (int i = 0; i < 5; i++) {
      h.loop.run(alice.session::onFrame);
    }
    alice.roundTrip();
    assertThat(alice.out.closes()).as("within the burst").isEmpty();

    h.loop.run(alice.session::onFrame);
    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.FLOODING);
    assertThat(CloseCode.FLOODING.code()).isEqualTo((short) 1008);
  }

  @Test
  @DisplayName(
      "closes with 1008 a client that keeps sending after more than CHAT_RATE_LIMIT_STRIKES rate_limited answers")
  void rateLimitStrikes() {
    h =
        harnesses.open(
            Map.of(
                "CHAT_RATE_LIMIT_PER_SEC",
                "1",
                "CHAT_RATE_LIMIT_BURST",
                "1",
                "CHAT_RATE_LIMIT_STRIKES",
                "3"));
    String room = randomRoom();
    Client alice = h.connect(randomUser("alice"));
    alice.join(room);
    for (int i = 0; i < 4; i++) {
      alice.say(room, "k-" + i, "m" + i);
    }
    alice.roundTrip();
    assertThat(alice.out.frames("error"))
        .extracting(e -> e.getString("code"))
        .containsExactly("rate_limited", "rate_limited", "rate_limited");
    assertThat(alice.out.closes()).isEmpty();

    alice.say(room, "k-4", "m4");
    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.FLOODING);
    assertThat(alice.out.frames("error")).hasSize(3);
    assertThat(h.loop.await(() -> h.broker.read(room, ReadRequest.stateOnly())).seq())
        .as("only the send within the burst was stored")
        .isEqualTo(1);
  }

  @Test
  @DisplayName("closes with 4002 when the token expires, leaving its rooms")
  void tokenExpiry() {
    h = harnesses.open(Map.of());
    String room = randomRoom();
    long validUntil = System.currentTimeMillis() + 400;
    Client alice = h.connect(new Identity(randomUser("alice"), validUntil, RoomPatterns.ANY));
    alice.join(room);
    assertThat(alice.out.closes()).isEmpty();

    assertThat(alice.out.awaitClose()).isEqualTo(CloseCode.TOKEN_EXPIRED);
    assertThat(System.currentTimeMillis()).isGreaterThanOrEqualTo(validUntil);
    h.loop.run(alice.session::onClosed);
    assertThat(h.hubRooms()).isZero();
  }

  @Test
  @DisplayName(
      "lets a token with a rooms claim join matching rooms and its own inbox, and nothing else")
  void roomsClaim() {
    h = harnesses.open(Map.of());
    String user = randomUser("guest");
    Client guest =
        h.connect(new Identity(user, Long.MAX_VALUE, RoomPatterns.of(List.of("support-*"))));
    String support = "support-" + randomRoom();
    assertThat(guest.join(support).getString("room")).isEqualTo(support);
    assertThat(guest.join("@" + user).getString("room")).isEqualTo("@" + user);

    int mark = guest.out.mark();
    guest.send(new JsonObject().put("type", "join").put("room", "general"));
    guest.send(new JsonObject().put("type", "join").put("room", "@someone-else"));
    List<JsonObject> errors =
        guest.out.awaitEvents(mark, e -> e.isFrame("error"), 2, "two refusals").stream()
            .map(RecordingOutbound.Event::frame)
            .toList();
    assertThat(errors)
        .extracting(e -> e.getString("code"))
        .containsExactly("forbidden", "forbidden");
    assertThat(errors.get(0).getString("message")).contains("general");
    assertThat(guest.out.frames("joined"))
        .extracting(f -> f.getString("room"))
        .containsExactly(support, "@" + user);
  }
}
