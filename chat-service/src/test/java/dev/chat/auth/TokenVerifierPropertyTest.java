package dev.chat.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.config.AuthSettings;
import dev.chat.protocol.Names;
import dev.chat.testing.Jwts;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Whatever a client puts in {@code token}, verifying it either proves an identity that obeys the
 * claim rules or throws {@link InvalidTokenException} with a reason: no other exception reaches the
 * handshake on the event loop, from our checks or from the library's parsers.
 */
@Label("The token verifier, on random input")
class TokenVerifierPropertyTest {

  private static final String SECRET = "a-property-secret-of-at-least-32-bytes-0123";
  private static final RandomDistribution UNIFORM = RandomDistribution.uniform();
  private static final TokenVerifier VERIFIER =
      TokenVerifier.from(new AuthSettings(true, SECRET, null, null, null, null, 0));

  @Property(tries = 500)
  @Label("refuses any string that is not a token with a reason, without another exception")
  void anyString(@ForAll String token) {
    assertVerdict(token);
  }

  @Property(tries = 500)
  @Label("handles three base64url parts of random bytes")
  void randomParts(@ForAll("parts") String token) {
    assertVerdict(token);
  }

  @Property(tries = 1500, edgeCases = EdgeCasesMode.NONE)
  @Label("handles correctly signed tokens whose header and claims hold values of every JSON type")
  void signedTokens(@ForAll("headers") JsonObject header, @ForAll("claims") JsonObject claims) {
    Identity id = assertVerdict(Jwts.hs256(SECRET, header, claims));
    if (id != null) {
      assertThat(id.user()).isEqualTo(claims.getValue("sub"));
      if (claims.containsKey("rooms")) {
        assertThat(id.rooms()).isNotSameAs(RoomPatterns.ANY);
      } else {
        assertThat(id.rooms()).isSameAs(RoomPatterns.ANY);
      }
      assertThat(header.getValue("alg")).isEqualTo("HS256");
    }
    Statistics.collect(id != null ? "accepted" : "refused");
    // the rules checked on accepted tokens are only worth something if some are accepted
    Statistics.coverage(c -> c.check("accepted").percentage(p -> p > 10));
  }

  private static Identity assertVerdict(String token) {
    long now = System.currentTimeMillis();
    try {
      Identity id = VERIFIER.verify(token, now);
      assertThat(Names.isUserId(id.user())).as("user %s", id.user()).isTrue();
      assertThat(id.validUntilMs()).isGreaterThan(now);
      return id;
    } catch (InvalidTokenException e) {
      assertThat(e.getMessage()).isNotBlank();
      if (token.length() > 16) {
        assertThat(e.getMessage()).doesNotContain(token);
      }
      return null;
    }
  }

  @Provide
  Arbitrary<String> parts() {
    Arbitrary<String> part =
        Arbitraries.bytes()
            .array(byte[].class)
            .ofMaxSize(64)
            .map(b -> Base64.getUrlEncoder().withoutPadding().encodeToString(b));
    return Combinators.combine(part, part, part).as((a, b, c) -> a + "." + b + "." + c);
  }

  @Provide
  Arbitrary<JsonObject> headers() {
    return members(
        List.of("alg", "typ", "kid", "crit", "b64"),
        List.of(
            mostly(Arbitraries.just("HS256")).optional(0.98),
            mostly(Arbitraries.of("JWT", "at+jwt", "application/JWT")).optional(0.5),
            mostly(Arbitraries.strings().alpha().ofMaxLength(8)).optional(0.3),
            value().optional(0.03),
            value().optional(0.03)));
  }

  @Provide
  Arbitrary<JsonObject> claims() {
    long now = Instant.now().getEpochSecond();
    Arbitrary<Object> text = mostly(Arbitraries.strings().ofMaxLength(8));
    return members(
        List.of("exp", "nbf", "iat", "sub", "aud", "iss", "jti", "rooms"),
        List.of(
            mostly(Arbitraries.longs().between(now - 60, now + 600).withDistribution(UNIFORM))
                .optional(0.95),
            mostly(Arbitraries.longs().between(now - 600, now + 60).withDistribution(UNIFORM))
                .optional(0.3),
            mostly(Arbitraries.longs().between(now - 600, now)).optional(0.3),
            mostly(Arbitraries.of("alice", "bob.b", "a b", "")).optional(0.95),
            mostly(Arbitraries.of("chat", "other")).optional(0.3),
            text.optional(0.3),
            text.optional(0.3),
            mostly(
                    Arbitraries.strings()
                        .withCharRange('a', 'z')
                        .withChars('*', '?', '-')
                        .ofMaxLength(8)
                        .list()
                        .ofMaxSize(3)
                        .map(l -> new JsonArray(new ArrayList<>(l))))
                .optional(0.3)));
  }

  /** A JSON object with each named member present when its value is (null counts as absent). */
  private static Arbitrary<JsonObject> members(
      List<String> names, List<Arbitrary<Optional<Object>>> values) {
    return Combinators.combine(values)
        .as(
            present -> {
              JsonObject o = new JsonObject();
              for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                present.get(i).ifPresent(v -> o.put(name, v));
              }
              return o;
            });
  }

  /** The given values nine times in ten, else a JSON value of any type. */
  private static Arbitrary<Object> mostly(Arbitrary<?> good) {
    return Arbitraries.frequencyOf(Tuple.of(9, good.map(Object.class::cast)), Tuple.of(1, value()));
  }

  /** A JSON value of any type, nested a little. */
  private static Arbitrary<Object> value() {
    Arbitrary<Object> scalar =
        Arbitraries.oneOf(
            Arbitraries.strings().ofMaxLength(12).map(Object.class::cast),
            Arbitraries.integers().map(Object.class::cast),
            Arbitraries.doubles().map(Object.class::cast),
            Arbitraries.of(true, false).map(Object.class::cast),
            Arbitraries.just(null));
    return Arbitraries.oneOf(
        scalar,
        scalar.list().ofMaxSize(3).map(l -> new JsonArray(new ArrayList<>(l))),
        scalar.map(v -> new JsonObject().put("k", v)));
  }
}
