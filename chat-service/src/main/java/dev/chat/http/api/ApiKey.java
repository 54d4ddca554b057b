package dev.chat.http.api;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The server API's bearer key. A request's key is compared in constant time: both sides are hashed
 * first, so neither the content nor the length of the key shows in how long a wrong guess takes.
 */
final class ApiKey {

  private static final String SCHEME = "Bearer ";

  private final byte[] digest;

  ApiKey(String key) {
    this.digest = sha256(key);
  }

  /** Whether an {@code Authorization} header value carries this key. */
  boolean matches(String authorization) {
    if (authorization == null
        || authorization.length() <= SCHEME.length()
        || !authorization.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
      return false;
    }
    return MessageDigest.isEqual(digest, sha256(authorization.substring(SCHEME.length()).trim()));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
