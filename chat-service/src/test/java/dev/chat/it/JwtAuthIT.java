package dev.chat.it;

import static dev.chat.it.LiveChecks.WAIT;
import static dev.chat.it.LiveChecks.join;
import static dev.chat.it.LiveChecks.joinRoom;
import static dev.chat.it.LiveChecks.room;
import static dev.chat.it.LiveChecks.user;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.ChatNode;
import dev.chat.testing.Jwts;
import dev.chat.testing.WsClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Auth mode jwt on real nodes: one checking HS256 with an audience and an issuer (logging at DEBUG,
 * to show that no token reaches the log), one checking RS256 against a PEM public key, one checking
 * RS256 and ES256 against a JWKS file.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("A node in jwt mode")
class JwtAuthIT {

  private static final String AUDIENCE = "chat-test";
  private static final String ISSUER = "https://id.example.test";

  private final String secret = "s-" + UUID.randomUUID() + "-" + UUID.randomUUID();
  private final KeyPair rsa = Jwts.rsaKeyPair();
  private final KeyPair jwksRsa = Jwts.rsaKeyPair();
  private final KeyPair jwksEc = Jwts.ecKeyPair();

  /** HS256, with audience and issuer, DEBUG logs. */
  private ChatNode hs;

  /** RS256 with a PEM public key. */
  private ChatNode rs;

  /** RS256 and ES256 from a JWKS file of two keys. */
  private ChatNode jwks;

  private Path jwksFile;

  @BeforeAll
  void start() throws IOException {
    hs =
        ChatNode.builder()
            .name("jwt-hs")
            .env("CHAT_AUTH", "jwt")
            .env("CHAT_JWT_SECRET", secret)
            .env("CHAT_JWT_AUDIENCE", AUDIENCE)
            .env("CHAT_JWT_ISSUER", ISSUER)
            .env("CHAT_INSTANCES", "2")
            .env("CHAT_LOG_LEVEL", "DEBUG")
            .start();
    rs =
        ChatNode.builder()
            .name("jwt-rs")
            .env("CHAT_AUTH", "jwt")
            .env("CHAT_JWT_PUBLIC_KEY", Jwts.pem(rsa.getPublic()))
            .env("CHAT_INSTANCES", "1")
            .start();
    jwksFile = Files.createTempFile("jwt-jwks", ".json");
    Files.writeString(
        jwksFile,
        Jwts.jwks(Jwts.jwk(jwksRsa.getPublic(), "rsa-1"), Jwts.jwk(jwksEc.getPublic(), "ec-1"))
            .encode());
    jwks =
        ChatNode.builder()
            .name("jwt-jwks")
            .env("CHAT_AUTH", "jwt")
            .env("CHAT_JWT_JWKS_FILE", jwksFile.toString())
            .env("CHAT_INSTANCES", "1")
            .start();
  }

  @AfterAll
  void stop() throws IOException {
    for (ChatNode n : new ChatNode[] {hs, rs, jwks}) {
      if (n != null) {
        n.close();
      }
    }
    if (jwksFile != null) {
      Files.deleteIfExists(jwksFile);
    }
  }

  /** Claims the HS256 node accepts: a user, five minutes, its audience and issuer. */
  private static JsonObject good(String user) {
    return Jwts.claims(user, Duration.ofMinutes(5)).put("aud", AUDIENCE).put("iss", ISSUER);
  }

  private static URI tokenUri(ChatNode node, String token) {
    return URI.create("ws://127.0.0.1:" + node.port() + "/ws?token=" + token);
  }

  /** The HTTP status of a real WebSocket handshake, and the refusal's body from a plain GET. */
  private static String refusal(ChatNode node, String query) {
    int status =
        WsClient.handshakeStatus(URI.create("ws://127.0.0.1:" + node.port() + "/ws" + query));
    LiveChecks.HttpAnswer answer =
        LiveChecks.get(URI.create("http://127.0.0.1:" + node.port() + "/ws" + query));
    assertThat(answer.status()).isEqualTo(status);
    return status + " " + answer.body();
  }

  @Test
  @DisplayName(
      "accepts a valid HS256 token, and its sub is the user, whatever the user parameter says")
  void validToken() {
    String alice = user("alice");
    String token = Jwts.hs256(secret, good(alice));
    try (WsClient client = WsClient.connect(tokenUri(hs, token))) {
      assertThat(client.welcome().getString("user")).isEqualTo(alice);
    }
    URI withUser = URI.create(tokenUri(hs, token) + "&user=mallory");
    try (WsClient client = WsClient.connect(withUser)) {
      assertThat(client.welcome().getString("user")).isEqualTo(alice);
    }
  }

  Stream<Arguments> badTokens() {
    String u = user("eve");
    List<Arguments> cases = new ArrayList<>();
    Function<JsonObject, String> sign = c -> Jwts.hs256(secret, c);
    cases.add(
        Arguments.of(
            "expired",
            sign.apply(good(u).put("exp", Instant.now().minusSeconds(60).getEpochSecond())),
            "token expired"));
    JsonObject noExp = good(u);
    noExp.remove("exp");
    cases.add(Arguments.of("without exp", sign.apply(noExp), "exp is required"));
    cases.add(Arguments.of("alg none", Jwts.unsigned(good(u)), "unsigned tokens are refused"));
    cases.add(
        Arguments.of("a changed signature", Jwts.tampered(sign.apply(good(u))), "bad signature"));
    cases.add(
        Arguments.of(
            "signed with another secret", Jwts.hs256(secret + "x", good(u)), "bad signature"));
    cases.add(
        Arguments.of(
            "for another audience", sign.apply(good(u).put("aud", "mail")), "wrong audience"));
    cases.add(
        Arguments.of(
            "from another issuer",
            sign.apply(good(u).put("iss", ISSUER + ".evil")),
            "wrong issuer"));
    cases.add(
        Arguments.of(
            "nbf in the future",
            sign.apply(good(u).put("nbf", Instant.now().plusSeconds(120).getEpochSecond())),
            "not valid yet"));
    cases.add(
        Arguments.of(
            "whose sub is not a user id", sign.apply(good("a b")), "sub must be a user id"));
    cases.add(
        Arguments.of(
            "of another declared type",
            Jwts.hs256(
                secret, new JsonObject().put("alg", "HS256").put("typ", "logout+jwt"), good(u)),
            "typ must be JWT or at+jwt"));
    cases.add(
        Arguments.of(
            "RS256 on an HS256 node",
            Jwts.rs256(rsa.getPrivate(), good(u)),
            "RS256 is not accepted"));
    return cases.stream();
  }

  @ParameterizedTest(name = "a token {0}")
  @MethodSource("badTokens")
  @DisplayName("refuses the handshake with 401")
  void refused(String what, String token, String reason) {
    assertThat(refusal(hs, "?token=" + token)).startsWith("401 ").contains(reason);
  }

  @Test
  @DisplayName("refuses a handshake without a token with 401, even with a user parameter")
  void missingToken() {
    assertThat(refusal(hs, "?user=alice")).startsWith("401 ").contains("missing token");
    assertThat(refusal(hs, "")).startsWith("401 ");
  }

  @Test
  @DisplayName(
      "lets a token's rooms claim allow matching rooms and the user's inbox, and forbid the rest")
  void roomsClaim() {
    String guest = user("guest");
    String token = Jwts.hs256(secret, good(guest).put("rooms", new JsonArray().add("team-*")));
    String team = "team-" + room();
    try (WsClient client = WsClient.connect(tokenUri(hs, token))) {
      assertThat(joinRoom(client, team).getString("room")).isEqualTo(team);
      assertThat(joinRoom(client, "@" + guest).getString("room")).isEqualTo("@" + guest);
      client.send(join("general"));
      JsonObject error = client.await("error", WAIT);
      assertThat(error.getString("code")).isEqualTo("forbidden");
      assertThat(error.getString("message")).contains("general");
      client.send(join("@" + user("other")));
      assertThat(client.await("error", WAIT).getString("code")).isEqualTo("forbidden");
    }
  }

  @Test
  @DisplayName("closes a connection with 4002 when its token expires")
  void closesAtExpiry() {
    long exp = System.currentTimeMillis() / 1000 + 3;
    String token = Jwts.hs256(secret, good(user("brief")).put("exp", exp));
    try (WsClient client = WsClient.connect(tokenUri(hs, token))) {
      joinRoom(client, room());
      assertThat(client.awaitClose(Duration.ofSeconds(10))).isEqualTo(4002);
      assertThat(System.currentTimeMillis())
          .as("closed at expiry, not before")
          .isGreaterThanOrEqualTo(exp * 1000);
    }
  }

  @Test
  @DisplayName(
      "accepts an RS256 token signed by the configured key pair, and refuses other keys and algorithm confusion")
  void rs256() {
    String bob = user("bob");
    JsonObject claims = Jwts.claims(bob, Duration.ofMinutes(5));
    try (WsClient client = WsClient.connect(tokenUri(rs, Jwts.rs256(rsa.getPrivate(), claims)))) {
      assertThat(client.welcome().getString("user")).isEqualTo(bob);
    }
    assertThat(refusal(rs, "?token=" + Jwts.rs256(Jwts.rsaKeyPair().getPrivate(), claims)))
        .startsWith("401 ")
        .contains("bad signature");
    // HS256 "signed" with the public key, which an attacker knows: must not verify against it
    assertThat(refusal(rs, "?token=" + Jwts.hs256(Jwts.pem(rsa.getPublic()), claims)))
        .startsWith("401 ")
        .contains("HS256 is not accepted");
  }

  @Test
  @DisplayName(
      "with a JWKS file: accepts RS256 and ES256 tokens by kid, and refuses an unknown kid and another key's signature")
  void jwksFile() {
    String ivan = user("ivan");
    JsonObject claims = Jwts.claims(ivan, Duration.ofMinutes(5));
    String rsToken =
        Jwts.rs256(
            jwksRsa.getPrivate(), new JsonObject().put("alg", "RS256").put("kid", "rsa-1"), claims);
    try (WsClient client = WsClient.connect(tokenUri(jwks, rsToken))) {
      assertThat(client.welcome().getString("user")).isEqualTo(ivan);
    }
    String esToken =
        Jwts.es256(
            jwksEc.getPrivate(), new JsonObject().put("alg", "ES256").put("kid", "ec-1"), claims);
    try (WsClient client = WsClient.connect(tokenUri(jwks, esToken))) {
      assertThat(client.welcome().getString("user")).isEqualTo(ivan);
    }
    JsonObject unknownKid = new JsonObject().put("alg", "RS256").put("kid", "rsa-2");
    assertThat(refusal(jwks, "?token=" + Jwts.rs256(jwksRsa.getPrivate(), unknownKid, claims)))
        .startsWith("401 ")
        .contains("no key with this kid");
    JsonObject rsaKid = new JsonObject().put("alg", "RS256").put("kid", "rsa-1");
    assertThat(refusal(jwks, "?token=" + Jwts.rs256(rsa.getPrivate(), rsaKid, claims)))
        .startsWith("401 ")
        .contains("bad signature");
    assertThat(refusal(jwks, "?token=" + Jwts.hs256(secret, claims)))
        .startsWith("401 ")
        .contains("HS256 is not accepted");
  }

  @Test
  @DisplayName("writes no token to its log, accepted or refused, even at DEBUG")
  void tokensNotLogged() throws IOException {
    String ok = Jwts.hs256(secret, good(user("logged")));
    String expired =
        Jwts.hs256(
            secret,
            good(user("logged")).put("exp", Instant.now().minusSeconds(5).getEpochSecond()));
    String forged = Jwts.tampered(ok);
    try (WsClient client = WsClient.connect(tokenUri(hs, ok))) {
      client.welcome();
    }
    assertThat(WsClient.handshakeStatus(tokenUri(hs, expired))).isEqualTo(401);
    assertThat(WsClient.handshakeStatus(tokenUri(hs, forged))).isEqualTo(401);
    LiveChecks.awaitTrue(
        "the refusals logged", WAIT, () -> log(hs).contains("handshake refused: bad signature"));

    String log = log(hs);
    assertThat(log).contains("handshake refused: token expired");
    for (String token : List.of(ok, expired, forged)) {
      assertThat(log).doesNotContain(token);
      assertThat(log).doesNotContain(token.substring(token.lastIndexOf('.') + 1));
      assertThat(log).doesNotContain(token.split("\\.")[1]);
    }
  }

  private static String log(ChatNode node) {
    try {
      return Files.readString(node.logFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("refusedConfigurations")
  @DisplayName("refuses to start, exiting with 2 and saying why")
  void refusesToStart(String what, String key, String value, String message) {
    ChatNode.Builder builder =
        ChatNode.builder()
            .name("jwt-bad-" + UUID.randomUUID().toString().substring(0, 4))
            .readyTimeout(Duration.ofSeconds(20));
    if (!what.startsWith("keys without")) {
      builder.env("CHAT_AUTH", "jwt");
    }
    if (key != null) {
      builder.env(key, value);
    }
    assertThatThrownBy(builder::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("exited with 2")
        .hasMessageContaining(message);
  }

  static Stream<Arguments> refusedConfigurations() {
    return Stream.of(
        Arguments.of("jwt mode without a key", null, null, "CHAT_AUTH=jwt needs a key"),
        Arguments.of(
            "jwt mode with a short secret",
            "CHAT_JWT_SECRET",
            "short",
            "CHAT_JWT_SECRET must be at least 32 bytes"),
        Arguments.of(
            "jwt mode with a public key that is not one",
            "CHAT_JWT_PUBLIC_KEY",
            "not a key",
            "CHAT_JWT_PUBLIC_KEY"),
        Arguments.of(
            "keys without jwt mode", "CHAT_JWT_SECRET", "x".repeat(40), "CHAT_AUTH is not jwt"));
  }
}
