package dev.chat.broker;

import java.net.URI;

/**
 * A Redis node's host and port, as Redis Cluster and Sentinel name nodes; {@link #uri} turns it
 * back into a connection string with the scheme and credentials of a configured seed.
 */
public record RedisAddress(String host, int port) {

  public RedisAddress {
    if (host == null || host.isEmpty() || port <= 0 || port > 65_535) {
      throw new IllegalArgumentException("not a Redis address: " + host + ":" + port);
    }
  }

  /** The address of a {@code redis://[user:password@]host[:port]} URI (port 6379 by default). */
  public static RedisAddress of(String uri) {
    URI parsed = URI.create(uri);
    return new RedisAddress(parsed.getHost(), parsed.getPort() < 0 ? 6379 : parsed.getPort());
  }

  /**
   * {@code redis://host:port} with the scheme and user info of {@code seed}: nodes a cluster or the
   * sentinels name share the credentials and TLS of the configured seed.
   */
  public String uri(String seed) {
    URI s = URI.create(seed);
    String userInfo = s.getRawUserInfo() == null ? "" : s.getRawUserInfo() + "@";
    String h = host.contains(":") ? "[" + host + "]" : host;
    return s.getScheme() + "://" + userInfo + h + ":" + port;
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
