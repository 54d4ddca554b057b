package dev.chat.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.chat.auth.ClaimRules.Check;
import dev.chat.config.AuthSettings;
import dev.chat.protocol.Names;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Verifies a JWT (JWS compact form) and turns it into an {@link Identity}, on nimbus-jose-jwt: a
 * {@link DefaultJWTProcessor} checks the header's {@code typ}, picks the candidate keys with a key
 * selector that accepts exactly the algorithms of the configured keys, verifies the signature and
 * then the claims ({@link ClaimRules}: {@code exp} required, {@code nbf}, {@code iss}, {@code
 * aud}); then {@code sub} is the user and {@code rooms} the rooms the user may join.
 *
 * <p>A few checks run before the processor, so that the 401 answer says what is wrong rather than
 * "invalid signature": {@code alg: none} in any capitalisation, an empty signature, a {@code crit}
 * header, an algorithm no configured key has, claims of the wrong type. The keys are all loaded at
 * start (there is no remote key set), so verifying is CPU only (microseconds for HS256, well under
 * a millisecond for RS256/ES256) and runs on the event loop. Thread-safe: the processor and the key
 * set are immutable once built.
 */
public final class TokenVerifier {

  /**
   * Longer tokens are refused before any parsing; the handshake's request line caps them anyway.
   */
  static final int MAX_TOKEN_CHARS = 8192;

  private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]*");

  /** Algorithm names shown back in a refusal; anything else is not echoed. */
  private static final Pattern PRINTABLE_ALG = Pattern.compile("[A-Za-z0-9+._-]{1,32}");

  /**
   * {@code JWT}, or the OAuth access-token type of RFC 9068 that identity providers issue for APIs,
   * with or without the {@code application/} prefix (RFC 7515 §4.1.9), or none: a JWT of another
   * declared type (a logout or security event token, say) signed by the same issuer is not a login.
   */
  private static final DefaultJOSEObjectTypeVerifier<Check> TYPES =
      new DefaultJOSEObjectTypeVerifier<>(
          JOSEObjectType.JWT,
          new JOSEObjectType("application/jwt"),
          new JOSEObjectType("at+jwt"),
          new JOSEObjectType("application/at+jwt"),
          null);

  private final KeySelector keys;
  private final ClaimRules claims;
  private final DefaultJWTProcessor<Check> processor = new DefaultJWTProcessor<>();

  private TokenVerifier(JWKSet keySet, AuthSettings settings) {
    Set<JWSAlgorithm> algorithms =
        keySet.getKeys().stream()
            .map(k -> JWSAlgorithm.parse(k.getAlgorithm().getName()))
            .collect(Collectors.toUnmodifiableSet());
    this.keys = new KeySelector(algorithms, new ImmutableJWKSet<>(keySet));
    this.claims = new ClaimRules(settings);
    processor.setJWSTypeVerifier(
        (type, check) -> {
          try {
            TYPES.verify(type, check);
          } catch (BadJOSEException e) {
            throw new Refusal("typ must be JWT or at+jwt");
          }
        });
    processor.setJWSKeySelector(keys);
    processor.setJWTClaimsSetVerifier(claims);
  }

  /**
   * Loads the configured keys; throws {@link IllegalArgumentException} when they are missing or
   * unusable.
   */
  public static TokenVerifier from(AuthSettings settings) {
    if (!settings.jwt()) {
      throw new IllegalArgumentException("CHAT_AUTH is not jwt");
    }
    JWKSet keys = VerificationKeys.load(settings);
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("CHAT_AUTH=jwt needs at least one key");
    }
    return new TokenVerifier(keys, settings);
  }

  /**
   * The identity {@code token} proves at {@code nowMs} (epoch milliseconds), or why it proves none.
   */
  public Identity verify(String token, long nowMs) throws InvalidTokenException {
    SignedJWT jwt = parse(token);
    Map<String, Object> payload = payload(jwt);
    Check check = new Check(nowMs, numericDate(payload, "exp"), numericDate(payload, "nbf"));
    parseClaims(jwt);
    try {
      processor.process(jwt, check);
    } catch (Refusal e) {
      throw new InvalidTokenException(e.getMessage());
    } catch (BadJWSException e) {
      throw new InvalidTokenException("bad signature");
    } catch (BadJOSEException e) {
      // What is left of the processor's refusals (ours are Refusals, a bad signature is a
      // BadJWSException) is "no matching key": the algorithm was accepted in parse(), so some key
      // has it, and the kid matched none of them.
      throw new InvalidTokenException(
          jwt.getHeader().getKeyID() != null ? "no key with this kid" : "no key for this token");
    } catch (JOSEException e) {
      throw new InvalidTokenException("the signature cannot be checked: " + e.getMessage());
    }
    String user = (String) payload.get("sub"); // a string: checked in payload()
    if (!Names.isUserId(user)) {
      throw new InvalidTokenException(ClaimRules.SUB_RULE);
    }
    return new Identity(user, claims.validUntil(check.expMs()), rooms(payload), roles(payload));
  }

  /** The token as a signed JWT whose algorithm a configured key has. */
  private SignedJWT parse(String token) throws InvalidTokenException {
    if (token == null || token.isEmpty()) {
      throw new InvalidTokenException("missing token");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new InvalidTokenException("token too long");
    }
    // Stricter than nimbus's own split, which trims the token and skips non-base64url characters.
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      throw new InvalidTokenException("malformed token: not three dot-separated parts");
    }
    for (String part : parts) {
      if (!BASE64URL.matcher(part).matches()) {
        throw new InvalidTokenException("malformed token: not base64url");
      }
    }
    Map<String, Object> header;
    try {
      header = JSONObjectUtils.parse(new Base64URL(parts[0]).decodeToString());
    } catch (ParseException e) {
      throw new InvalidTokenException("malformed token: the header is not a JSON object");
    }
    if (!(header.get("alg") instanceof String alg)) {
      throw new InvalidTokenException("malformed token: no alg");
    }
    // Nimbus reads only "none" as unsigned; "None" would be an unknown signature algorithm.
    if (alg.equalsIgnoreCase("none") || parts[2].isEmpty()) {
      throw new InvalidTokenException("unsigned tokens are refused");
    }
    // Nimbus's verifiers would refuse it too, but as a bad signature.
    if (header.containsKey("crit")) {
      throw new InvalidTokenException("critical header extensions are not supported");
    }
    // RFC 7797's unencoded payload: nimbus would honour it even outside crit, and call the
    // signature bad.
    if (header.containsKey("b64") && !Boolean.TRUE.equals(header.get("b64"))) {
      throw new InvalidTokenException("unencoded payloads (b64) are not supported");
    }
    if (!keys.isAllowed(JWSAlgorithm.parse(alg))) {
      throw new InvalidTokenException(
          "algorithm "
              + (PRINTABLE_ALG.matcher(alg).matches() ? alg + " " : "")
              + "is not accepted here");
    }
    try {
      return new SignedJWT(
          new Base64URL(parts[0]), new Base64URL(parts[1]), new Base64URL(parts[2]));
    } catch (ParseException e) {
      // Not e's message: it may quote a header value.
      throw new InvalidTokenException("malformed token: not a valid JWS header");
    }
  }

  /**
   * The claims as the token wrote them, with the types checked that nimbus's claims parser would
   * refuse without naming the rule ({@code exp}, {@code nbf}) or accept too leniently (a number as
   * {@code sub}).
   */
  private static Map<String, Object> payload(SignedJWT jwt) throws InvalidTokenException {
    Map<String, Object> payload = jwt.getPayload().toJSONObject();
    if (payload == null) {
      throw new InvalidTokenException("malformed token: the payload is not a JSON object");
    }
    if (payload.get("sub") != null && !(payload.get("sub") instanceof String)) {
      throw new InvalidTokenException(ClaimRules.SUB_RULE);
    }
    return payload;
  }

  /** Parses the claims once, here, for the processor (the JWT keeps them). */
  private static void parseClaims(SignedJWT jwt) throws InvalidTokenException {
    try {
      jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      // Its messages name a claim, never a value.
      throw new InvalidTokenException("malformed token: " + e.getMessage());
    }
  }

  private static RoomPatterns rooms(Map<String, Object> claims) throws InvalidTokenException {
    if (!claims.containsKey("rooms")) {
      return RoomPatterns.ANY;
    }
    if (!(claims.get("rooms") instanceof List<?> list)) {
      throw new InvalidTokenException("rooms must be a list of room patterns");
    }
    List<String> patterns = new ArrayList<>(list.size());
    for (Object p : list) {
      if (!(p instanceof String s)) {
        throw new InvalidTokenException("rooms must be a list of room patterns");
      }
      patterns.add(s);
    }
    try {
      return RoomPatterns.of(patterns);
    } catch (IllegalArgumentException e) {
      throw new InvalidTokenException("rooms: " + e.getMessage());
    }
  }

  /** The {@code roles} claim (v1.1), e.g. {@code ["moderator"]}; none when absent. */
  private static Set<String> roles(Map<String, Object> claims) throws InvalidTokenException {
    Object value = claims.get("roles");
    if (value == null) {
      return Set.of();
    }
    if (!(value instanceof List<?> list)) {
      throw new InvalidTokenException("roles must be a list of strings");
    }
    Set<String> roles = new HashSet<>();
    for (Object r : list) {
      if (!(r instanceof String s)) {
        throw new InvalidTokenException("roles must be a list of strings");
      }
      roles.add(s);
    }
    return Set.copyOf(roles);
  }

  /** A NumericDate claim (seconds, possibly fractional) in epoch milliseconds; null when absent. */
  private static Long numericDate(Map<String, Object> claims, String name)
      throws InvalidTokenException {
    Object v = claims.get(name);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Number n)) {
      throw new InvalidTokenException(name + " must be a number");
    }
    double ms = n.doubleValue() * 1000;
    if (Double.isNaN(ms)) {
      throw new InvalidTokenException(name + " must be a number");
    }
    return ms >= Long.MAX_VALUE
        ? Long.MAX_VALUE
        : ms <= Long.MIN_VALUE ? Long.MIN_VALUE : (long) ms;
  }

  /**
   * Nimbus's selector, with one matching rule of our own: a token naming a key ({@code kid}) is
   * checked against that key and against keys configured without one (the secret, a PEM key), as
   * issuers put a {@code kid} in every token; a token naming none, against every key of its
   * algorithm. Keys never come from the token ({@code jwk}, {@code jku}, {@code x5u}, {@code x5c}).
   */
  private static final class KeySelector extends JWSVerificationKeySelector<Check> {

    KeySelector(Set<JWSAlgorithm> algorithms, JWKSource<Check> source) {
      super(algorithms, source);
    }

    @Override
    protected JWKMatcher createJWKMatcher(JWSHeader header) {
      JWSAlgorithm alg = header.getAlgorithm();
      if (!isAllowed(alg)) {
        return null;
      }
      JWKMatcher.Builder matcher =
          new JWKMatcher.Builder()
              .keyType(KeyType.forAlgorithm(alg))
              .algorithm(alg) // every configured key carries its one algorithm
              .keyUses(KeyUse.SIGNATURE, null);
      if (header.getKeyID() != null) {
        matcher.keyIDs(header.getKeyID(), null);
      }
      return matcher.build();
    }
  }
}
