package dev.chat.config;

import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * How a connection proves its user: {@code CHAT_AUTH} and the {@code CHAT_JWT_*} settings. Only the
 * settings are read here; the keys are parsed (and the JWKS file read) by {@code
 * dev.chat.auth.TokenVerifier} at start.
 *
 * @param jwt {@code CHAT_AUTH} ({@code none}): {@code none} takes the {@code user} query parameter
 *     as the user; {@code jwt} requires a signed token in {@code token}
 * @param secret {@code CHAT_JWT_SECRET} (unset): HS256 shared secret, at least 32 bytes of UTF-8
 * @param publicKeyPem {@code CHAT_JWT_PUBLIC_KEY} (unset): a PEM public key, RSA (RS256) or EC
 *     P-256 (ES256)
 * @param jwksFile {@code CHAT_JWT_JWKS_FILE} (unset): path of a JWKS file of RSA and EC P-256 keys
 * @param audience {@code CHAT_JWT_AUDIENCE} (unset): when set, a token's {@code aud} must name it
 * @param issuer {@code CHAT_JWT_ISSUER} (unset): when set, a token's {@code iss} must equal it
 * @param leewayMs {@code CHAT_JWT_LEEWAY_MS} (0): clock skew tolerated on {@code exp} and {@code
 *     nbf}
 */
public record AuthSettings(
    boolean jwt,
    String secret,
    String publicKeyPem,
    String jwksFile,
    String audience,
    String issuer,
    long leewayMs) {

  /** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
  public static final int MIN_SECRET_BYTES = 32;

  public static final AuthSettings NONE = new AuthSettings(false, null, null, null, null, null, 0);

  public AuthSettings {
    if (jwt) {
      Config.require(
          secret != null || publicKeyPem != null || jwksFile != null,
          "CHAT_AUTH=jwt needs a key: CHAT_JWT_SECRET, CHAT_JWT_PUBLIC_KEY or CHAT_JWT_JWKS_FILE");
    } else {
      // A key without jwt mode is a half-done configuration that would run the service open.
      Config.require(
          secret == null
              && publicKeyPem == null
              && jwksFile == null
              && audience == null
              && issuer == null,
          "CHAT_JWT_* settings are given but CHAT_AUTH is not jwt");
    }
    Config.require(
        secret == null || secret.getBytes(StandardCharsets.UTF_8).length >= MIN_SECRET_BYTES,
        "CHAT_JWT_SECRET must be at least " + MIN_SECRET_BYTES + " bytes");
    Config.require(leewayMs >= 0, "CHAT_JWT_LEEWAY_MS must not be negative");
  }

  static AuthSettings from(Function<String, String> get) {
    String mode = get.apply("CHAT_AUTH");
    boolean jwt;
    if (mode == null || mode.equalsIgnoreCase("none")) {
      jwt = false;
    } else if (mode.equalsIgnoreCase("jwt")) {
      jwt = true;
    } else {
      throw new IllegalArgumentException("CHAT_AUTH must be none or jwt, got '" + mode + "'");
    }
    return new AuthSettings(
        jwt,
        get.apply("CHAT_JWT_SECRET"),
        get.apply("CHAT_JWT_PUBLIC_KEY"),
        get.apply("CHAT_JWT_JWKS_FILE"),
        get.apply("CHAT_JWT_AUDIENCE"),
        get.apply("CHAT_JWT_ISSUER"),
        Config.longValue(get, "CHAT_JWT_LEEWAY_MS", 0));
  }

  /** Never prints the secret: configurations end up in logs. */
  @Override
  public String toString() {
    return "AuthSettings["
        + (jwt ? "jwt" : "none")
        + (secret != null ? ", secret=***" : "")
        + (publicKeyPem != null ? ", publicKey" : "")
        + (jwksFile != null ? ", jwksFile=" + jwksFile : "")
        + (audience != null ? ", audience=" + audience : "")
        + (issuer != null ? ", issuer=" + issuer : "")
        + ", leewayMs="
        + leewayMs
        + "]";
  }
}
