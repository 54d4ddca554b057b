package dev.chat.http;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The browser origins allowed to open a WebSocket ({@code CHAT_ALLOWED_ORIGINS}). An origin matches
 * only by exact scheme, host and port (a default port written or not); {@code null} (sandboxed
 * frames, file pages) and anything unparseable match nothing.
 *
 * <p>A handshake without an {@code Origin} header is allowed: browsers always send one on a
 * WebSocket handshake, so its absence means a non-browser client, which could send any value
 * anyway. The check protects users' browsers from other sites (cross-site WebSocket hijacking), not
 * the service from arbitrary clients.
 */
public final class AllowedOrigins {

  private final Set<String> allowed;

  private AllowedOrigins(Set<String> allowed) {
    this.allowed = allowed;
  }

  /** The configured list; empty allows every origin. Throws when an entry is not an origin. */
  public static AllowedOrigins of(List<String> origins) {
    if (origins.isEmpty()) {
      return new AllowedOrigins(null);
    }
    Set<String> set = new HashSet<>();
    for (String o : origins) {
      // Tolerate the trailing slash people copy from the address bar; browsers never send one.
      String entry = o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
      String normal = normalize(entry);
      if (normal == null) {
        throw new IllegalArgumentException(
            "CHAT_ALLOWED_ORIGINS: '"
                + o
                + "' is not an origin (scheme://host[:port], nothing after it)");
      }
      set.add(normal);
    }
    return new AllowedOrigins(Set.copyOf(set));
  }

  /** Whether a handshake with this {@code Origin} header (null when absent) may proceed. */
  public boolean allows(String origin) {
    if (allowed == null || origin == null) {
      return true;
    }
    String normal = normalize(origin.trim());
    return normal != null && allowed.contains(normal);
  }

  /**
   * {@code scheme://host:port} in lower case with the port always written; null if not an origin.
   */
  static String normalize(String origin) {
    URI uri;
    try {
      uri = new URI(origin);
    } catch (URISyntaxException e) {
      return null;
    }
    String scheme = uri.getScheme();
    String host = uri.getHost();
    if (scheme == null
        || host == null
        || uri.getRawUserInfo() != null
        || !uri.getRawPath().isEmpty()
        || uri.getRawQuery() != null
        || uri.getRawFragment() != null) {
      return null;
    }
    scheme = scheme.toLowerCase(Locale.ROOT);
    int port = uri.getPort();
    if (port == -1) {
      port =
          switch (scheme) {
            case "http", "ws" -> 80;
            case "https", "wss" -> 443;
            default -> -1;
          };
    }
    return scheme + "://" + host.toLowerCase(Locale.ROOT) + ":" + port;
  }
}
