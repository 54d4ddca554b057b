package dev.chat.auth;

import dev.chat.config.AuthSettings;
import dev.chat.protocol.Names;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.crypto.Mac;

/**
 * Verifies a JWT (JWS compact form) and turns it into an {@link Identity}: signature by a
 * configured key, then {@code exp} (required), {@code nbf}, {@code iss} and {@code aud}, then
 * {@code sub} as the user and {@code rooms} as the rooms the user may join.
 *
 * <p>Built on the JDK's own signature code rather than a JWT library, so that every rule is visible
 * here: the usual pitfalls (accepting {@code alg: none}, letting a token without {@code exp} live
 * forever, letting the token pick the algorithm) are each one explicit check. Verifying is CPU only
 * (microseconds for HS256, well under a millisecond for RS256/ES256), so it runs on the event loop.
 * Thread-safe: a {@code Mac} or {@code Signature} is made per call.
 */
public final class TokenVerifier {

  /**
   * Longer tokens are refused before any parsing; the handshake's request line caps them anyway.
   */
  static final int MAX_TOKEN_CHARS = 8192;

  private final List<VerificationKeys.Entry> keys;
  private final String audience;
  private final String issuer;
  private final long leewayMs;

  private TokenVerifier(List<VerificationKeys.Entry> keys, AuthSettings settings) {
    this.keys = keys;
    this.audience = settings.audience();
    this.issuer = settings.issuer();
    this.leewayMs = settings.leewayMs();
  }

  /**
   * Loads the configured keys; throws {@link IllegalArgumentException} when they are missing or
   * unusable.
   */
  public static TokenVerifier from(AuthSettings settings) {
    if (!settings.jwt()) {
      throw new IllegalArgumentException("CHAT_AUTH is not jwt");
    }
    List<VerificationKeys.Entry> keys = VerificationKeys.load(settings);
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("CHAT_AUTH=jwt needs at least one key");
    }
    return new TokenVerifier(keys, settings);
  }

  /**
   * The identity {@code token} proves at {@code nowMs} (epoch milliseconds), or why it proves none.
   */
  public Identity verify(String token, long nowMs) throws InvalidTokenException {
    if (token == null || token.isEmpty()) {
      throw new InvalidTokenException("missing token");
    }
    if (token.length() > MAX_TOKEN_CHARS) {
      throw new InvalidTokenException("token too long");
    }
    int dot1 = token.indexOf('.');
    int dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) {
      throw new InvalidTokenException("malformed token: not three dot-separated parts");
    }
    JsonObject header = json(token.substring(0, dot1), "header");
    Object alg = header.getValue("alg");
    if (!(alg instanceof String algorithm)) {
      throw new InvalidTokenException("malformed token: no alg");
    }
    if (algorithm.equalsIgnoreCase("none")) {
      throw new InvalidTokenException("unsigned tokens are refused");
    }
    if (header.containsKey("crit")) {
      throw new InvalidTokenException("critical header extensions are not supported");
    }
    byte[] signature = base64(token.substring(dot2 + 1), "signature");
    if (signature.length == 0) {
      throw new InvalidTokenException("unsigned tokens are refused");
    }
    byte[] signed = token.substring(0, dot2).getBytes(StandardCharsets.US_ASCII);
    checkSignature(algorithm, header.getValue("kid"), signed, signature);

    JsonObject claims = json(token.substring(dot1 + 1, dot2), "payload");
    long validUntil = checkTimes(claims, nowMs);
    checkIssuerAndAudience(claims);
    Object sub = claims.getValue("sub");
    if (!(sub instanceof String user) || !Names.isUserId(user)) {
      throw new InvalidTokenException(
          "sub must be a user id (1-32 letters, digits, '_', '-' or '.')");
    }
    return new Identity(user, validUntil, rooms(claims));
  }

  private void checkSignature(String alg, Object kid, byte[] signed, byte[] signature)
      throws InvalidTokenException {
    List<VerificationKeys.Entry> candidates = new ArrayList<>();
    boolean algKnown = false;
    for (VerificationKeys.Entry k : keys) {
      if (!k.alg().equals(alg)) {
        continue;
      }
      algKnown = true;
      // A token naming a key is checked against that key only; one naming none, against all.
      if (kid == null || k.kid() == null || k.kid().equals(kid)) {
        candidates.add(k);
      }
    }
    if (!algKnown) {
      throw new InvalidTokenException("algorithm " + alg + " is not accepted here");
    }
    if (candidates.isEmpty()) {
      throw new InvalidTokenException("no key with this kid");
    }
    for (VerificationKeys.Entry k : candidates) {
      if (valid(k, signed, signature)) {
        return;
      }
    }
    throw new InvalidTokenException("bad signature");
  }

  private static boolean valid(VerificationKeys.Entry k, byte[] signed, byte[] signature) {
    try {
      switch (k.alg()) {
        case VerificationKeys.HS256 -> {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(k.key());
          return MessageDigest.isEqual(mac.doFinal(signed), signature);
        }
        case VerificationKeys.RS256 -> {
          return verify("SHA256withRSA", (PublicKey) k.key(), signed, signature);
        }
        case VerificationKeys.ES256 -> {
          // JWS carries ECDSA signatures as R || S (RFC 7518 §3.4), not DER.
          return signature.length == 64
              && verify("SHA256withECDSAinP1363Format", (PublicKey) k.key(), signed, signature);
        }
        default -> {
          return false;
        }
      }
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static boolean verify(String algorithm, PublicKey key, byte[] signed, byte[] signature)
      throws GeneralSecurityException {
    Signature s = Signature.getInstance(algorithm);
    s.initVerify(key);
    s.update(signed);
    return s.verify(signature);
  }

  private long checkTimes(JsonObject claims, long nowMs) throws InvalidTokenException {
    Long exp = numericDate(claims, "exp");
    if (exp == null) {
      throw new InvalidTokenException("exp is required");
    }
    long validUntil = saturatedAdd(exp, leewayMs);
    if (nowMs >= validUntil) {
      throw new InvalidTokenException("token expired");
    }
    Long nbf = numericDate(claims, "nbf");
    if (nbf != null && saturatedAdd(nowMs, leewayMs) < nbf) {
      throw new InvalidTokenException("token not valid yet (nbf)");
    }
    return validUntil == Long.MAX_VALUE ? Long.MAX_VALUE - 1 : validUntil;
  }

  private void checkIssuerAndAudience(JsonObject claims) throws InvalidTokenException {
    if (issuer != null && !issuer.equals(claims.getValue("iss"))) {
      throw new InvalidTokenException("wrong issuer");
    }
    if (audience == null) {
      return;
    }
    Object aud = claims.getValue("aud");
    boolean ours =
        aud instanceof String s
            ? s.equals(audience)
            : aud instanceof JsonArray list && list.contains(audience);
    if (!ours) {
      throw new InvalidTokenException("wrong audience");
    }
  }

  private static RoomPatterns rooms(JsonObject claims) throws InvalidTokenException {
    if (!claims.containsKey("rooms")) {
      return RoomPatterns.ANY;
    }
    if (!(claims.getValue("rooms") instanceof JsonArray list)) {
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

  /** A NumericDate claim (seconds, possibly fractional) in epoch milliseconds; null when absent. */
  private static Long numericDate(JsonObject claims, String name) throws InvalidTokenException {
    Object v = claims.getValue(name);
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

  private static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }

  private static JsonObject json(String part, String what) throws InvalidTokenException {
    String text = new String(base64(part, what), StandardCharsets.UTF_8);
    try {
      return new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new InvalidTokenException("malformed token: the " + what + " is not a JSON object");
    }
  }

  private static byte[] base64(String part, String what) throws InvalidTokenException {
    try {
      return Base64.getUrlDecoder().decode(part);
    } catch (IllegalArgumentException e) {
      throw new InvalidTokenException("malformed token: the " + what + " is not base64url");
    }
  }
}
