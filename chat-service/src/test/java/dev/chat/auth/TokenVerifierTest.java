package dev.chat.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.config.AuthSettings;
import dev.chat.testing.Jwts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The token verifier")
class TokenVerifierTest {

  private static final String SECRET = "a-test-secret-of-at-least-32-bytes-0123456789";
  private static final KeyPair RSA = Jwts.rsaKeyPair();
  private static final KeyPair EC = Jwts.ecKeyPair();

  private static TokenVerifier hs256() {
    return TokenVerifier.from(settings(SECRET, null, null, null, null, 0));
  }

  private static AuthSettings settings(
      String secret, String pem, String jwks, String aud, String iss, long leeway) {
    return new AuthSettings(true, secret, pem, jwks, aud, iss, leeway);
  }

  private static long now() {
    return System.currentTimeMillis();
  }

  private static String refusal(TokenVerifier verifier, String token) {
    return refusal(verifier, token, now());
  }

  private static String refusal(TokenVerifier verifier, String token, long nowMs) {
    try {
      Identity id = verifier.verify(token, nowMs);
      throw new AssertionError("expected a refusal, got " + id);
    } catch (InvalidTokenException e) {
      return e.getMessage();
    }
  }

  @Test
  @DisplayName("accepts a valid token: sub is the user, exp is when it ends, any room is allowed")
  void validToken() throws Exception {
    long exp = Instant.now().plusSeconds(600).getEpochSecond();
    String token = Jwts.hs256(SECRET, new JsonObject().put("sub", "Zoë_1").put("exp", exp));
    Identity id = hs256().verify(token, now());
    assertThat(id.user()).isEqualTo("Zoë_1");
    assertThat(id.validUntilMs()).isEqualTo(exp * 1000);
    assertThat(id.expires()).isTrue();
    assertThat(id.rooms()).isSameAs(RoomPatterns.ANY);
    assertThat(id.rooms().allows("general")).isTrue();
  }

  @Test
  @DisplayName("refuses an expired token, and a token at the very second it expires")
  void expired() {
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, Jwts.claims("alice", Duration.ofSeconds(-10)))))
        .isEqualTo("token expired");
    long exp = Instant.now().getEpochSecond();
    String token = Jwts.hs256(SECRET, new JsonObject().put("sub", "alice").put("exp", exp));
    assertThatThrownBy(() -> hs256().verify(token, exp * 1000)).hasMessage("token expired");
  }

  @Test
  @DisplayName(
      "accepts a just-expired token within the configured leeway, and ends it after the leeway")
  void leeway() throws Exception {
    long exp = Instant.now().minusSeconds(5).getEpochSecond();
    String token = Jwts.hs256(SECRET, new JsonObject().put("sub", "alice").put("exp", exp));
    TokenVerifier lenient = TokenVerifier.from(settings(SECRET, null, null, null, null, 30_000));
    assertThat(lenient.verify(token, now()).validUntilMs()).isEqualTo(exp * 1000 + 30_000);
    assertThat(refusal(hs256(), token)).isEqualTo("token expired");
  }

  @Test
  @DisplayName("refuses a token without exp, or with an exp that is not a number")
  void missingExp() {
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, new JsonObject().put("sub", "alice"))))
        .isEqualTo("exp is required");
    assertThat(
            refusal(
                hs256(),
                Jwts.hs256(SECRET, new JsonObject().put("sub", "alice").put("exp", "tomorrow"))))
        .isEqualTo("exp must be a number");
  }

  @ParameterizedTest(name = "alg {0}")
  @ValueSource(strings = {"none", "None", "NONE"})
  @DisplayName("refuses an unsigned token (alg none)")
  void algNone(String alg) {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    assertThat(refusal(hs256(), Jwts.unsigned(claims))).isEqualTo("unsigned tokens are refused");
    String header = b64(new JsonObject().put("alg", alg).encode());
    String payload = b64(claims.encode());
    assertThat(refusal(hs256(), header + "." + payload + "."))
        .isEqualTo("unsigned tokens are refused");
    // even with a signature attached
    assertThat(refusal(hs256(), header + "." + payload + "." + b64("sig")))
        .isEqualTo("unsigned tokens are refused");
  }

  @Test
  @DisplayName("refuses an HS256 token whose signature part was stripped")
  void strippedSignature() {
    String token = Jwts.hs256(SECRET, Jwts.claims("alice", Duration.ofMinutes(5)));
    String stripped = token.substring(0, token.lastIndexOf('.') + 1);
    assertThat(refusal(hs256(), stripped)).isEqualTo("unsigned tokens are refused");
  }

  @Test
  @DisplayName("refuses a wrong signature: a changed signature, another secret, or changed claims")
  void wrongSignature() {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    String token = Jwts.hs256(SECRET, claims);
    assertThat(refusal(hs256(), Jwts.tampered(token))).isEqualTo("bad signature");
    assertThat(refusal(hs256(), Jwts.hs256(SECRET + "-other", claims))).isEqualTo("bad signature");
    String[] parts = token.split("\\.");
    String forged =
        parts[0] + "." + b64(claims.copy().put("sub", "mallory").encode()) + "." + parts[2];
    assertThat(refusal(hs256(), forged)).isEqualTo("bad signature");
  }

  @Test
  @DisplayName("refuses an RS256 token when only a secret is configured")
  void algorithmNotConfigured() {
    String token = Jwts.rs256(RSA.getPrivate(), Jwts.claims("alice", Duration.ofMinutes(5)));
    assertThat(refusal(hs256(), token)).isEqualTo("algorithm RS256 is not accepted here");
  }

  @Test
  @DisplayName("refuses a token whose nbf is in the future, and accepts one whose nbf has passed")
  void notBefore() throws Exception {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    String future =
        Jwts.hs256(
            SECRET, claims.copy().put("nbf", Instant.now().plusSeconds(60).getEpochSecond()));
    assertThat(refusal(hs256(), future)).isEqualTo("token not valid yet (nbf)");
    String past =
        Jwts.hs256(
            SECRET, claims.copy().put("nbf", Instant.now().minusSeconds(60).getEpochSecond()));
    assertThat(hs256().verify(past, now()).user()).isEqualTo("alice");
  }

  @Test
  @DisplayName(
      "with an audience configured: accepts aud equal to it or a list holding it, refuses another or none")
  void audience() throws Exception {
    TokenVerifier v = TokenVerifier.from(settings(SECRET, null, null, "chat", null, 0));
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    assertThat(v.verify(Jwts.hs256(SECRET, claims.copy().put("aud", "chat")), now()).user())
        .isEqualTo("alice");
    assertThat(
            v.verify(
                Jwts.hs256(
                    SECRET, claims.copy().put("aud", new JsonArray().add("mail").add("chat"))),
                now()))
        .isNotNull();
    assertThat(refusal(v, Jwts.hs256(SECRET, claims.copy().put("aud", "mail"))))
        .isEqualTo("wrong audience");
    assertThat(
            refusal(v, Jwts.hs256(SECRET, claims.copy().put("aud", new JsonArray().add("mail")))))
        .isEqualTo("wrong audience");
    assertThat(refusal(v, Jwts.hs256(SECRET, claims))).isEqualTo("wrong audience");
  }

  @Test
  @DisplayName("with an issuer configured: accepts iss equal to it, refuses another or none")
  void issuer() throws Exception {
    TokenVerifier v =
        TokenVerifier.from(settings(SECRET, null, null, null, "https://id.example.com", 0));
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    assertThat(
            v.verify(Jwts.hs256(SECRET, claims.copy().put("iss", "https://id.example.com")), now()))
        .isNotNull();
    assertThat(
            refusal(v, Jwts.hs256(SECRET, claims.copy().put("iss", "https://id.example.com.evil"))))
        .isEqualTo("wrong issuer");
    assertThat(refusal(v, Jwts.hs256(SECRET, claims))).isEqualTo("wrong issuer");
  }

  @ParameterizedTest(name = "sub {0}")
  @ValueSource(strings = {"", "a b", "bob!", "@alice", "abcdefghijklmnopqrstuvwxyz0123456"})
  @DisplayName("refuses a token whose sub is not a valid user id")
  void invalidSub(String sub) {
    JsonObject claims = Jwts.claims(sub, Duration.ofMinutes(5));
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, claims))).startsWith("sub must be a user id");
  }

  @Test
  @DisplayName("refuses a token without sub, or with a sub that is not a string")
  void missingSub() {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, claims.copy().put("sub", 42))))
        .startsWith("sub must be");
    claims.remove("sub");
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, claims))).startsWith("sub must be");
  }

  @Test
  @DisplayName(
      "reads the rooms claim as glob patterns, and refuses a rooms claim that is not a list of strings")
  void roomsClaim() throws Exception {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    Identity id =
        hs256()
            .verify(
                Jwts.hs256(
                    SECRET,
                    claims.copy().put("rooms", new JsonArray().add("support-*").add("general"))),
                now());
    assertThat(id.rooms().allows("support-42")).isTrue();
    assertThat(id.rooms().allows("general")).isTrue();
    assertThat(id.rooms().allows("random")).isFalse();
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, claims.copy().put("rooms", "general"))))
        .isEqualTo("rooms must be a list of room patterns");
    assertThat(
            refusal(
                hs256(), Jwts.hs256(SECRET, claims.copy().put("rooms", new JsonArray().add(1)))))
        .isEqualTo("rooms must be a list of room patterns");
  }

  @ParameterizedTest(name = "\"{0}\"")
  @ValueSource(
      strings = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.sig",
        "e30.!!!.sig",
        "bm90IGpzb24.e30.c2ln",
        "e30.e30.c2ln"
      })
  @DisplayName("refuses malformed tokens")
  void malformed(String token) {
    assertThat(refusal(hs256(), token)).containsAnyOf("malformed", "missing token");
  }

  @Test
  @DisplayName("refuses a token longer than the limit before parsing it")
  void tooLong() {
    assertThat(refusal(hs256(), "a".repeat(TokenVerifier.MAX_TOKEN_CHARS + 1)))
        .isEqualTo("token too long");
  }

  @Test
  @DisplayName("refuses a token with a crit header it cannot honour")
  void critHeader() {
    JsonObject header =
        new JsonObject().put("alg", "HS256").put("crit", new JsonArray().add("exp"));
    assertThat(
            refusal(
                hs256(), Jwts.hs256(SECRET, header, Jwts.claims("alice", Duration.ofMinutes(5)))))
        .startsWith("critical header");
  }

  @Test
  @DisplayName("refuses a token with an unencoded payload (RFC 7797 b64: false), in crit or not")
  void unencodedPayload() {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    JsonObject header = new JsonObject().put("alg", "HS256").put("b64", false);
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, header, claims)))
        .isEqualTo("unencoded payloads (b64) are not supported");
    header.put("crit", new JsonArray().add("b64"));
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, header, claims))).startsWith("critical header");
  }

  @Test
  @DisplayName(
      "accepts an RS256 token signed by the key pair whose public half is configured as PEM")
  void rs256Pem() throws Exception {
    TokenVerifier v =
        TokenVerifier.from(settings(null, Jwts.pem(RSA.getPublic()), null, null, null, 0));
    assertThat(
            v.verify(Jwts.rs256(RSA.getPrivate(), Jwts.claims("bob", Duration.ofMinutes(5))), now())
                .user())
        .isEqualTo("bob");
    KeyPair other = Jwts.rsaKeyPair();
    assertThat(
            refusal(v, Jwts.rs256(other.getPrivate(), Jwts.claims("bob", Duration.ofMinutes(5)))))
        .isEqualTo("bad signature");
  }

  @Test
  @DisplayName(
      "refuses an HS256 token made with the RSA public key as its secret (algorithm confusion)")
  void algorithmConfusion() {
    String pem = Jwts.pem(RSA.getPublic());
    TokenVerifier v = TokenVerifier.from(settings(null, pem, null, null, null, 0));
    String forged = Jwts.hs256(pem, Jwts.claims("mallory", Duration.ofMinutes(5)));
    assertThat(refusal(v, forged)).isEqualTo("algorithm HS256 is not accepted here");
  }

  @Test
  @DisplayName("accepts an ES256 token signed by a P-256 key configured as PEM")
  void es256Pem() throws Exception {
    TokenVerifier v =
        TokenVerifier.from(settings(null, Jwts.pem(EC.getPublic()), null, null, null, 0));
    String token =
        Jwts.es256(
            EC.getPrivate(),
            new JsonObject().put("alg", "ES256"),
            Jwts.claims("carol", Duration.ofMinutes(5)));
    assertThat(v.verify(token, now()).user()).isEqualTo("carol");
    assertThat(refusal(v, Jwts.tampered(token))).isEqualTo("bad signature");
  }

  @Test
  @DisplayName(
      "with a JWKS file: picks the key by kid, refuses an unknown kid, tries every key of the algorithm without one")
  void jwksFile(@TempDir Path dir) throws Exception {
    KeyPair second = Jwts.rsaKeyPair();
    Path file = dir.resolve("jwks.json");
    Files.writeString(
        file,
        Jwts.jwks(
                Jwts.jwk(RSA.getPublic(), "k1"),
                Jwts.jwk(second.getPublic(), "k2"),
                Jwts.jwk(EC.getPublic(), "k3"))
            .encode());
    TokenVerifier v = TokenVerifier.from(settings(null, null, file.toString(), null, null, 0));
    JsonObject claims = Jwts.claims("dave", Duration.ofMinutes(5));
    JsonObject k2 = new JsonObject().put("alg", "RS256").put("kid", "k2");
    assertThat(v.verify(Jwts.rs256(second.getPrivate(), k2, claims), now()).user())
        .isEqualTo("dave");
    assertThat(v.verify(Jwts.rs256(second.getPrivate(), claims), now()).user()).isEqualTo("dave");
    assertThat(
            v.verify(
                    Jwts.es256(
                        EC.getPrivate(),
                        new JsonObject().put("alg", "ES256").put("kid", "k3"),
                        claims),
                    now())
                .user())
        .isEqualTo("dave");
    // the right key's signature under another key's kid
    JsonObject k1 = new JsonObject().put("alg", "RS256").put("kid", "k1");
    assertThat(refusal(v, Jwts.rs256(second.getPrivate(), k1, claims))).isEqualTo("bad signature");
    JsonObject unknown = new JsonObject().put("alg", "RS256").put("kid", "k9");
    assertThat(refusal(v, Jwts.rs256(second.getPrivate(), unknown, claims)))
        .isEqualTo("no key with this kid");
  }

  @Test
  @DisplayName("refuses jwt mode without a key, a short secret, and keys without jwt mode")
  void settingsRefused() {
    assertThatThrownBy(() -> new AuthSettings(true, null, null, null, null, null, 0))
        .hasMessageContaining("CHAT_AUTH=jwt needs a key");
    assertThatThrownBy(() -> new AuthSettings(true, "short", null, null, null, null, 0))
        .hasMessageContaining("CHAT_JWT_SECRET must be at least 32 bytes");
    assertThatThrownBy(() -> new AuthSettings(false, SECRET, null, null, null, null, 0))
        .hasMessageContaining("CHAT_AUTH is not jwt");
  }

  @Test
  @DisplayName("never prints the secret")
  void secretNotPrinted() {
    assertThat(new AuthSettings(true, SECRET, null, null, null, null, 0).toString())
        .doesNotContain(SECRET);
  }

  @Test
  @DisplayName(
      "refuses a PEM that is not a public key, an RSA key under 2048 bits, and a curve other than P-256")
  void badPem() throws Exception {
    assertThatThrownBy(() -> TokenVerifier.from(settings(null, "not a pem", null, null, null, 0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CHAT_JWT_PUBLIC_KEY");
    String garbage = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
    assertThatThrownBy(() -> TokenVerifier.from(settings(null, garbage, null, null, null, 0)))
        .hasMessageContaining("neither an RSA nor an EC public key");
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("RSA");
    g.initialize(1024);
    String weak = Jwts.pem(g.generateKeyPair().getPublic());
    assertThatThrownBy(() -> TokenVerifier.from(settings(null, weak, null, null, null, 0)))
        .hasMessageContaining("at least 2048 bits");
    java.security.KeyPairGenerator ec = java.security.KeyPairGenerator.getInstance("EC");
    ec.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
    String p384 = Jwts.pem(ec.generateKeyPair().getPublic());
    assertThatThrownBy(() -> TokenVerifier.from(settings(null, p384, null, null, null, 0)))
        .hasMessageContaining("P-256");
  }

  @Test
  @DisplayName("accepts a PEM pasted on one line with literal \\n separators")
  void oneLinePem() throws Exception {
    String oneLine = Jwts.pem(RSA.getPublic()).replace("\n", "\\n");
    TokenVerifier v = TokenVerifier.from(settings(null, oneLine, null, null, null, 0));
    assertThat(
            v.verify(Jwts.rs256(RSA.getPrivate(), Jwts.claims("bob", Duration.ofMinutes(5))), now())
                .user())
        .isEqualTo("bob");
  }

  @Test
  @DisplayName(
      "refuses a missing JWKS file, one that is not a JWK Set, and one with unsupported keys")
  void badJwks(@TempDir Path dir) throws Exception {
    assertThatThrownBy(
            () ->
                TokenVerifier.from(
                    settings(null, null, dir.resolve("none.json").toString(), null, null, 0)))
        .hasMessageContaining("CHAT_JWT_JWKS_FILE cannot be read");
    Path notJson = Files.writeString(dir.resolve("a.json"), "[1,2]");
    assertThatThrownBy(
            () -> TokenVerifier.from(settings(null, null, notJson.toString(), null, null, 0)))
        .hasMessageContaining("not a JWK Set");
    Path oct =
        Files.writeString(
            dir.resolve("b.json"),
            Jwts.jwks(new JsonObject().put("kty", "oct").put("k", b64(SECRET))).encode());
    assertThatThrownBy(
            () -> TokenVerifier.from(settings(null, null, oct.toString(), null, null, 0)))
        .hasMessageContaining("key type oct is not supported");
    Path lying =
        Files.writeString(
            dir.resolve("c.json"),
            Jwts.jwks(Jwts.jwk(RSA.getPublic(), "k").put("alg", "ES256")).encode());
    assertThatThrownBy(
            () -> TokenVerifier.from(settings(null, null, lying.toString(), null, null, 0)))
        .hasMessageContaining("says alg ES256 but is a RS256 key");
  }

  @ParameterizedTest(name = "typ {0}")
  @ValueSource(strings = {"JWT", "jwt", "application/jwt", "at+jwt", "application/at+jwt"})
  @DisplayName("accepts a token whose typ is JWT or at+jwt (RFC 9068), in any spelling, or none")
  void typAccepted(String typ) throws Exception {
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5));
    JsonObject header = new JsonObject().put("alg", "HS256").put("typ", typ);
    assertThat(hs256().verify(Jwts.hs256(SECRET, header, claims), now()).user()).isEqualTo("alice");
    JsonObject untyped = new JsonObject().put("alg", "HS256");
    assertThat(hs256().verify(Jwts.hs256(SECRET, untyped, claims), now()).user())
        .isEqualTo("alice");
  }

  @ParameterizedTest(name = "typ {0}")
  @ValueSource(strings = {"secevent+jwt", "logout+jwt", "JWE", ""})
  @DisplayName("refuses a correctly signed token of another declared type")
  void typRefused(String typ) {
    JsonObject header = new JsonObject().put("alg", "HS256").put("typ", typ);
    String token = Jwts.hs256(SECRET, header, Jwts.claims("alice", Duration.ofMinutes(5)));
    assertThat(refusal(hs256(), token)).isEqualTo("typ must be JWT or at+jwt");
  }

  @Test
  @DisplayName(
      "with a secret and an RSA public key both configured: accepts each one's tokens, and an HS256 token made with the public key as its secret is a bad signature")
  void secretAndPublicKey() throws Exception {
    String pem = Jwts.pem(RSA.getPublic());
    TokenVerifier v = TokenVerifier.from(settings(SECRET, pem, null, null, null, 0));
    JsonObject claims = Jwts.claims("erin", Duration.ofMinutes(5));
    assertThat(v.verify(Jwts.hs256(SECRET, claims), now()).user()).isEqualTo("erin");
    assertThat(v.verify(Jwts.rs256(RSA.getPrivate(), claims), now()).user()).isEqualTo("erin");
    assertThat(refusal(v, Jwts.hs256(pem, claims))).isEqualTo("bad signature");
    assertThat(
            refusal(v, Jwts.es256(EC.getPrivate(), new JsonObject().put("alg", "ES256"), claims)))
        .isEqualTo("algorithm ES256 is not accepted here");
  }

  @Test
  @DisplayName(
      "checks a token with a kid against a secret or PEM key, which are configured without one")
  void kidAgainstKeysWithoutKid() throws Exception {
    JsonObject claims = Jwts.claims("frank", Duration.ofMinutes(5));
    assertThat(
            hs256()
                .verify(
                    Jwts.hs256(
                        SECRET, new JsonObject().put("alg", "HS256").put("kid", "2024-1"), claims),
                    now())
                .user())
        .isEqualTo("frank");
    TokenVerifier v =
        TokenVerifier.from(settings(null, Jwts.pem(RSA.getPublic()), null, null, null, 0));
    JsonObject header = new JsonObject().put("alg", "RS256").put("kid", "any");
    assertThat(v.verify(Jwts.rs256(RSA.getPrivate(), header, claims), now()).user())
        .isEqualTo("frank");
  }

  @Test
  @DisplayName(
      "with a JWKS file: a kid selects only keys of the token's algorithm, and an algorithm no key has is refused")
  void jwksKidAndAlgorithm(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("jwks.json");
    Files.writeString(
        file,
        Jwts.jwks(Jwts.jwk(RSA.getPublic(), "rsa-1"), Jwts.jwk(EC.getPublic(), "ec-1")).encode());
    TokenVerifier v = TokenVerifier.from(settings(null, null, file.toString(), null, null, 0));
    JsonObject claims = Jwts.claims("grace", Duration.ofMinutes(5));
    // an RS256 token naming the EC key: no RSA key has that kid
    JsonObject ecKid = new JsonObject().put("alg", "RS256").put("kid", "ec-1");
    assertThat(refusal(v, Jwts.rs256(RSA.getPrivate(), ecKid, claims)))
        .isEqualTo("no key with this kid");
    assertThat(refusal(v, Jwts.hs256(SECRET, claims)))
        .isEqualTo("algorithm HS256 is not accepted here");

    Path ecOnly =
        Files.writeString(
            dir.resolve("ec.json"), Jwts.jwks(Jwts.jwk(EC.getPublic(), "e")).encode());
    TokenVerifier es = TokenVerifier.from(settings(null, null, ecOnly.toString(), null, null, 0));
    assertThat(refusal(es, Jwts.rs256(RSA.getPrivate(), claims)))
        .isEqualTo("algorithm RS256 is not accepted here");
  }

  @Test
  @DisplayName(
      "never takes the key from the token: a header jwk with the signer's own key is a bad signature")
  void embeddedJwkIgnored() {
    TokenVerifier v =
        TokenVerifier.from(settings(null, Jwts.pem(RSA.getPublic()), null, null, null, 0));
    KeyPair mallory = Jwts.rsaKeyPair();
    JsonObject header =
        new JsonObject()
            .put("alg", "RS256")
            .put("kid", "m")
            .put("jwk", Jwts.jwk(mallory.getPublic(), "m"));
    String token =
        Jwts.rs256(mallory.getPrivate(), header, Jwts.claims("mallory", Duration.ofMinutes(5)));
    assertThat(refusal(v, token)).isEqualTo("bad signature");
  }

  @Test
  @DisplayName("skips JWKS keys for another use, and refuses a JWKS with no signature key")
  void jwksEncryptionKeys(@TempDir Path dir) throws Exception {
    KeyPair enc = Jwts.rsaKeyPair();
    Path mixed =
        Files.writeString(
            dir.resolve("mixed.json"),
            Jwts.jwks(
                    Jwts.jwk(enc.getPublic(), "enc").put("use", "enc").put("alg", "RSA-OAEP-256"),
                    Jwts.jwk(RSA.getPublic(), "sig"))
                .encode());
    TokenVerifier v = TokenVerifier.from(settings(null, null, mixed.toString(), null, null, 0));
    JsonObject claims = Jwts.claims("heidi", Duration.ofMinutes(5));
    assertThat(v.verify(Jwts.rs256(RSA.getPrivate(), claims), now()).user()).isEqualTo("heidi");
    JsonObject encKid = new JsonObject().put("alg", "RS256").put("kid", "enc");
    assertThat(refusal(v, Jwts.rs256(enc.getPrivate(), encKid, claims)))
        .isEqualTo("no key with this kid");
    Path encOnly =
        Files.writeString(
            dir.resolve("enc.json"),
            Jwts.jwks(Jwts.jwk(enc.getPublic(), "enc").put("use", "enc")).encode());
    assertThatThrownBy(
            () -> TokenVerifier.from(settings(null, null, encOnly.toString(), null, null, 0)))
        .hasMessageContaining("has no signature keys");
  }

  @Test
  @DisplayName(
      "refuses exp: null as a missing exp, sub: null as a missing sub, and an iat that is not a number as malformed")
  void nullClaimsAndBadIat() {
    assertThat(
            refusal(
                hs256(), Jwts.hs256(SECRET, new JsonObject().put("sub", "alice").putNull("exp"))))
        .isEqualTo("exp is required");
    assertThat(
            refusal(
                hs256(),
                Jwts.hs256(SECRET, Jwts.claims("alice", Duration.ofMinutes(5)).putNull("sub"))))
        .startsWith("sub must be");
    JsonObject claims = Jwts.claims("alice", Duration.ofMinutes(5)).put("iat", "today");
    assertThat(refusal(hs256(), Jwts.hs256(SECRET, claims)))
        .startsWith("malformed")
        .contains("iat");
  }

  @Test
  @DisplayName("keeps a fractional exp and a leeway to the millisecond, on exp and on nbf")
  void millisecondTimes() throws Exception {
    long nowMs = now();
    double exp = (nowMs + 600_250) / 1000.0;
    String token = Jwts.hs256(SECRET, new JsonObject().put("sub", "alice").put("exp", exp));
    assertThat(hs256().verify(token, nowMs).validUntilMs()).isEqualTo((long) (exp * 1000));

    TokenVerifier lenient = TokenVerifier.from(settings(SECRET, null, null, null, null, 1_500));
    long second = nowMs / 1000;
    JsonObject claims = new JsonObject().put("sub", "alice").put("exp", second - 1);
    // expired 1 s ago (at most 2 s ago): within 1.5 s only while now is under exp + 1.5 s
    assertThat(lenient.verify(Jwts.hs256(SECRET, claims), (second - 1) * 1000 + 1_499).user())
        .isEqualTo("alice");
    assertThat(refusal(lenient, Jwts.hs256(SECRET, claims), (second - 1) * 1000 + 1_500))
        .isEqualTo("token expired");
    JsonObject early = Jwts.claims("alice", Duration.ofMinutes(5)).put("nbf", second + 1);
    assertThat(lenient.verify(Jwts.hs256(SECRET, early), (second + 1) * 1000 - 1_500).user())
        .isEqualTo("alice");
    assertThat(refusal(lenient, Jwts.hs256(SECRET, early), (second + 1) * 1000 - 1_501))
        .isEqualTo("token not valid yet (nbf)");
  }

  @Test
  @DisplayName("refuses a token in the five-part JWE form, and padding or spaces in a part")
  void notCompactJws() {
    String token = Jwts.hs256(SECRET, Jwts.claims("alice", Duration.ofMinutes(5)));
    assertThat(refusal(hs256(), token + ".e30.e30")).startsWith("malformed");
    assertThat(refusal(hs256(), " " + token)).startsWith("malformed");
    assertThat(refusal(hs256(), token + "=")).startsWith("malformed");
  }

  private static String b64(String text) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }
}
