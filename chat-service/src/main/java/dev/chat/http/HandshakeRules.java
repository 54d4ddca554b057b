package dev.chat.http;

import dev.chat.auth.Identity;
import dev.chat.auth.InvalidTokenException;
import dev.chat.auth.TokenVerifier;
import dev.chat.config.Config;
import dev.chat.protocol.Names;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a WebSocket handshake may be upgraded, and as whom: its {@code Origin} (403),
 * then its identity, the {@code user} parameter (400) or a token (401).
 *
 * <p>The handshake's query string holds the token, so nothing here (or anywhere) logs the request
 * URI; refusals are logged with their reason only.
 */
public final class HandshakeRules {

  private static final Logger LOG = LoggerFactory.getLogger(HandshakeRules.class);

  private final AllowedOrigins origins;
  private final TokenVerifier verifier;

  HandshakeRules(AllowedOrigins origins, TokenVerifier verifier) {
    this.origins = origins;
    this.verifier = verifier;
  }

  /**
   * The rules the configuration asks for; throws {@link IllegalArgumentException} if its keys or
   * origins are unusable.
   */
  public static HandshakeRules from(Config config) {
    return new HandshakeRules(
        AllowedOrigins.of(config.allowedOrigins()),
        config.auth().jwt() ? TokenVerifier.from(config.auth()) : null);
  }

  /** The identity the handshake proves, or null after answering it with 400, 401 or 403. */
  Identity check(HttpServerRequest request) {
    if (!origins.allows(request.getHeader(HttpHeaders.ORIGIN))) {
      LOG.debug("handshake refused: origin not allowed");
      request.response().setStatusCode(403).end("origin not allowed");
      return null;
    }
    if (verifier == null) {
      String user = request.getParam("user");
      if (user == null || !Names.isUserId(user)) {
        request
            .response()
            .setStatusCode(400)
            .end("query parameter user must be 1-32 letters, digits, '_', '-' or '.'");
        return null;
      }
      return Identity.unverified(user);
    }
    try {
      return verifier.verify(request.getParam("token"), System.currentTimeMillis());
    } catch (InvalidTokenException e) {
      LOG.debug("handshake refused: {}", e.getMessage());
      request
          .response()
          .setStatusCode(401)
          .putHeader("WWW-Authenticate", "Bearer error=\"invalid_token\"")
          .end("token refused: " + e.getMessage());
      return null;
    }
  }
}
