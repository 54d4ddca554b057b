package dev.chat.auth;

import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimNames;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import dev.chat.config.AuthSettings;
import java.util.Date;
import java.util.List;
import java.util.Set;

/**
 * The claims a verified token must carry: nimbus's {@link DefaultJWTClaimsVerifier} requires {@code
 * exp} and {@code sub} and checks {@code aud} and {@code iss} when configured; the time window
 * ({@code exp}, {@code nbf}) is checked here, in milliseconds against the handshake's clock.
 *
 * <p>Nimbus's own window is disabled ({@link #currentTime()} returns null) because it reads the
 * wall clock itself, allows clock skew in whole seconds only (and 60 s by default), and truncates a
 * fractional NumericDate; {@code CHAT_JWT_LEEWAY_MS} is milliseconds and {@link Identity} needs the
 * exact end of the token.
 */
final class ClaimRules extends DefaultJWTClaimsVerifier<ClaimRules.Check> {

  static final String SUB_RULE = "sub must be a user id (1-32 letters, digits, '_', '-' or '.')";

  /**
   * What one verification is checked against: the handshake's time, and the token's {@code exp} and
   * {@code nbf} in epoch milliseconds as the token wrote them (null when absent).
   */
  record Check(long nowMs, Long expMs, Long nbfMs) implements SecurityContext {}

  private final String audience;
  private final String issuer;
  private final long leewayMs;

  ClaimRules(AuthSettings settings) {
    super(
        settings.audience() == null ? null : Set.of(settings.audience()),
        settings.issuer() == null
            ? null
            : new JWTClaimsSet.Builder().issuer(settings.issuer()).build(),
        Set.of(JWTClaimNames.EXPIRATION_TIME, JWTClaimNames.SUBJECT),
        null);
    this.audience = settings.audience();
    this.issuer = settings.issuer();
    this.leewayMs = settings.leewayMs();
  }

  @Override
  public void verify(JWTClaimsSet claims, Check check) throws BadJWTException {
    try {
      super.verify(claims, check);
    } catch (BadJWTException e) {
      throw new Refusal(explain(claims, e));
    }
    if (check.expMs() == null) {
      // "exp": null is present as far as nimbus's required-claims check goes.
      throw new Refusal("exp is required");
    }
    if (check.nowMs() >= validUntil(check.expMs())) {
      throw new Refusal("token expired");
    }
    if (check.nbfMs() != null && saturatedAdd(check.nowMs(), leewayMs) < check.nbfMs()) {
      throw new Refusal("token not valid yet (nbf)");
    }
  }

  /** When a token expiring at {@code expMs} stops being accepted: exp plus the leeway. */
  long validUntil(long expMs) {
    long until = saturatedAdd(expMs, leewayMs);
    // Long.MAX_VALUE means "never expires" to Identity; a token always does.
    return until == Long.MAX_VALUE ? Long.MAX_VALUE - 1 : until;
  }

  @Override
  protected Date currentTime() {
    return null;
  }

  /**
   * Which rule the superclass's refusal broke, in the words of the 401 answer. Nimbus decides; this
   * only names the first broken rule, in the order exp, iss, aud, sub.
   */
  private String explain(JWTClaimsSet claims, BadJWTException refusal) {
    if (claims.getExpirationTime() == null) {
      return "exp is required";
    }
    if (issuer != null && !issuer.equals(claims.getIssuer())) {
      return "wrong issuer";
    }
    List<String> aud = claims.getAudience();
    if (audience != null && (aud == null || !aud.contains(audience))) {
      return "wrong audience";
    }
    if (claims.getSubject() == null) {
      return SUB_RULE;
    }
    return "claims refused: " + refusal.getMessage();
  }

  static long saturatedAdd(long a, long b) {
    long r = a + b;
    return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
  }
}
