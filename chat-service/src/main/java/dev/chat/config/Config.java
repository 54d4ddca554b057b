package dev.chat.config;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * The service's settings, read once from the environment and validated; every duration is in
 * milliseconds so tests can run the timers fast.
 *
 * @param port {@code CHAT_PORT} (8080): HTTP and WebSocket port
 * @param redisUrl {@code CHAT_REDIS_URL} (unset): Redis broker; null runs the embedded broker
 * @param redis {@code CHAT_REDIS_MODE}, {@code CHAT_REDIS_SENTINEL_MASTER} and {@code
 *     CHAT_REDIS_REPLICAS_ACK*}: the Redis mode, its seed list and acks held by replicas
 * @param nodeId {@code CHAT_NODE_ID} (host name + random suffix): the {@code node} in welcome
 * @param instances {@code CHAT_INSTANCES} (number of cores): verticle instances sharing the port
 * @param heartbeatIntervalMs {@code CHAT_HEARTBEAT_INTERVAL_MS} (25000): server ping period
 * @param heartbeatTimeoutMs {@code CHAT_HEARTBEAT_TIMEOUT_MS} (60000): inbound silence that closes
 *     with 4000
 * @param ackTimeoutMs {@code CHAT_ACK_TIMEOUT_MS} (5000): first redelivery delay, doubled each time
 * @param maxRedeliveries {@code CHAT_MAX_REDELIVERIES} (5): redeliveries before closing with 4001
 * @param historyOnJoin {@code CHAT_HISTORY_ON_JOIN} (50): messages replayed on a join without
 *     recovery
 * @param historyMax {@code CHAT_HISTORY_MAX} (1000): messages kept per room
 * @param maxFrameBytes {@code CHAT_MAX_FRAME_BYTES} (65536): largest frame or message accepted
 *     (else 1009)
 * @param dedupWindowMs {@code CHAT_DEDUP_WINDOW_MS} (3600000): how long a client id is remembered
 * @param maxPendingAcks {@code CHAT_MAX_PENDING_ACKS} (1000): unacked messages per socket before
 *     4001
 * @param maxConnections {@code CHAT_MAX_CONNECTIONS} (100000): sockets per node before 1013
 * @param maxRoomsPerConnection {@code CHAT_MAX_ROOMS_PER_CONNECTION} (100): joins per socket
 * @param rateLimitPerSec {@code CHAT_RATE_LIMIT_PER_SEC} (50): sustained sends per socket
 * @param rateLimitBurst {@code CHAT_RATE_LIMIT_BURST} (100): burst of sends per socket
 * @param nodeLeaseMs {@code CHAT_NODE_LEASE_MS} (10000): presence lease of a node in Redis
 * @param brokerTimeoutMs {@code CHAT_BROKER_TIMEOUT_MS} (5000): a broker call slower than this
 *     fails
 * @param joinedUsersMax {@code CHAT_JOINED_USERS_MAX} (200): users listed in a joined frame
 * @param drainMs {@code CHAT_DRAIN_MS} (10000; {@code CHAT_SHUTDOWN_MS} is read when unset): on
 *     SIGTERM, the window over which the node closes its sockets with 1012
 * @param maxConnectionsPerIp {@code CHAT_MAX_CONNECTIONS_PER_IP} (0 = no limit): sockets per client
 *     address across the cluster before 1013
 * @param maxConnectionsPerUser {@code CHAT_MAX_CONNECTIONS_PER_USER} (0 = no limit): sockets per
 *     user across the cluster before 1013
 * @param trustProxy {@code CHAT_TRUST_PROXY} (false): take the client address from the last hop of
 *     {@code X-Forwarded-For} instead of the socket
 * @param frameRatePerSec {@code CHAT_FRAME_RATE_PER_SEC} (200): sustained inbound frames of any
 *     kind per socket before 1008
 * @param frameBurst {@code CHAT_FRAME_BURST} (400): burst of inbound frames per socket
 * @param rateLimitStrikes {@code CHAT_RATE_LIMIT_STRIKES} (50): {@code rate_limited} answers per
 *     socket within 10 s before 1008
 * @param allowedOrigins {@code CHAT_ALLOWED_ORIGINS} (unset = any): comma-separated origins allowed
 *     to open a WebSocket, else 403
 * @param auth {@code CHAT_AUTH} and {@code CHAT_JWT_*}: how a connection proves its user
 * @param maxWriteQueueBytes {@code CHAT_MAX_WRITE_QUEUE_BYTES} (1048576): bytes buffered for a
 *     socket that does not read before it counts as a slow consumer (4001)
 * @param logFormat {@code CHAT_LOG_FORMAT} ({@code text}): {@code text} or {@code json} lines on
 *     stdout (logback.xml reads the variable; it is validated here)
 * @param eventLoopWarnMs {@code CHAT_EVENT_LOOP_WARN_MS} (2000): an event loop busy longer than
 *     this logs Vert.x's "Thread ... has been blocked" warning
 * @param echoEndpoint {@code CHAT_ECHO_ENDPOINT} (false): serve {@code /echo}, a WebSocket that
 *     echoes text and binary messages, for protocol conformance tests only
 * @param presenceMaxOnline {@code CHAT_PRESENCE_MAX_ONLINE} (0 = no limit): rooms with more users
 *     online than this send no join/leave presence frames (every join would otherwise cost one
 *     frame per member: a 10,000-member room filling up sends 50 million)
 * @param typingMaxOnline {@code CHAT_TYPING_MAX_ONLINE} (0 = no limit): rooms with more users
 *     online than this forward no typing frames (each costs one frame per member, as a message
 *     does, at up to one a second per typing user)
 * @param readMaxOnline {@code CHAT_READ_MAX_ONLINE} (0 = no limit): rooms with more users online
 *     than this send a read receipt only to the reader's own connections (each costs one frame per
 *     member, as a message does, and every member reads every message)
 * @param api {@code CHAT_API_KEY} and {@code CHAT_API_PORT}: the server API (off unless a key is
 *     set)
 */
public record Config(
    int port,
    String redisUrl,
    RedisSettings redis,
    String nodeId,
    int instances,
    long heartbeatIntervalMs,
    long heartbeatTimeoutMs,
    long ackTimeoutMs,
    int maxRedeliveries,
    int historyOnJoin,
    int historyMax,
    int maxFrameBytes,
    long dedupWindowMs,
    int maxPendingAcks,
    int maxConnections,
    int maxRoomsPerConnection,
    int rateLimitPerSec,
    int rateLimitBurst,
    long nodeLeaseMs,
    long brokerTimeoutMs,
    int joinedUsersMax,
    long drainMs,
    int maxConnectionsPerIp,
    int maxConnectionsPerUser,
    boolean trustProxy,
    int frameRatePerSec,
    int frameBurst,
    int rateLimitStrikes,
    List<String> allowedOrigins,
    AuthSettings auth,
    int maxWriteQueueBytes,
    String logFormat,
    long eventLoopWarnMs,
    boolean echoEndpoint,
    int presenceMaxOnline,
    int typingMaxOnline,
    int readMaxOnline,
    ApiSettings api) {

  public Config {
    require(port >= 0 && port <= 65535, "CHAT_PORT must be 0-65535");
    require(redis != null, "redis settings are required");
    require(
        nodeId != null && !nodeId.isBlank() && nodeId.length() <= 64,
        "CHAT_NODE_ID must be 1-64 characters");
    require(instances >= 1, "CHAT_INSTANCES must be at least 1");
    require(heartbeatIntervalMs > 0, "CHAT_HEARTBEAT_INTERVAL_MS must be positive");
    require(
        heartbeatTimeoutMs > heartbeatIntervalMs,
        "CHAT_HEARTBEAT_TIMEOUT_MS must be greater than CHAT_HEARTBEAT_INTERVAL_MS");
    require(ackTimeoutMs > 0, "CHAT_ACK_TIMEOUT_MS must be positive");
    require(maxRedeliveries >= 0, "CHAT_MAX_REDELIVERIES must not be negative");
    require(historyMax >= 1, "CHAT_HISTORY_MAX must be at least 1");
    require(
        historyOnJoin >= 0 && historyOnJoin <= historyMax,
        "CHAT_HISTORY_ON_JOIN must be between 0 and CHAT_HISTORY_MAX");
    require(maxFrameBytes >= 1024, "CHAT_MAX_FRAME_BYTES must be at least 1024");
    require(dedupWindowMs > 0, "CHAT_DEDUP_WINDOW_MS must be positive");
    require(maxPendingAcks >= 1, "CHAT_MAX_PENDING_ACKS must be at least 1");
    require(maxConnections >= 1, "CHAT_MAX_CONNECTIONS must be at least 1");
    require(maxRoomsPerConnection >= 1, "CHAT_MAX_ROOMS_PER_CONNECTION must be at least 1");
    require(
        rateLimitPerSec >= 1 && rateLimitBurst >= 1,
        "CHAT_RATE_LIMIT_PER_SEC and _BURST must be at least 1");
    require(nodeLeaseMs >= 1000, "CHAT_NODE_LEASE_MS must be at least 1000");
    require(brokerTimeoutMs > 0, "CHAT_BROKER_TIMEOUT_MS must be positive");
    require(joinedUsersMax >= 0, "CHAT_JOINED_USERS_MAX must not be negative");
    require(drainMs >= 0 && drainMs <= 3_600_000, "CHAT_DRAIN_MS must be 0-3600000");
    require(
        maxConnectionsPerIp >= 0,
        "CHAT_MAX_CONNECTIONS_PER_IP must not be negative (0 = no limit)");
    require(
        maxConnectionsPerUser >= 0,
        "CHAT_MAX_CONNECTIONS_PER_USER must not be negative (0 = no limit)");
    require(
        frameRatePerSec >= 1 && frameBurst >= 1,
        "CHAT_FRAME_RATE_PER_SEC and CHAT_FRAME_BURST must be at least 1");
    require(rateLimitStrikes >= 1, "CHAT_RATE_LIMIT_STRIKES must be at least 1");
    allowedOrigins = List.copyOf(allowedOrigins);
    require(auth != null, "auth settings are required");
    require(maxWriteQueueBytes >= 65_536, "CHAT_MAX_WRITE_QUEUE_BYTES must be at least 65536");
    require(
        "text".equals(logFormat) || "json".equals(logFormat),
        "CHAT_LOG_FORMAT must be text or json");
    require(eventLoopWarnMs >= 10, "CHAT_EVENT_LOOP_WARN_MS must be at least 10");
    require(presenceMaxOnline >= 0, "CHAT_PRESENCE_MAX_ONLINE must not be negative");
    require(typingMaxOnline >= 0, "CHAT_TYPING_MAX_ONLINE must not be negative");
    require(readMaxOnline >= 0, "CHAT_READ_MAX_ONLINE must not be negative");
    require(api != null, "API settings are required");
    require(api.port() == 0 || api.port() != port, "CHAT_API_PORT must differ from CHAT_PORT");
  }

  /** Reads the process environment. */
  public static Config fromEnv() {
    return from(System.getenv());
  }

  /** Reads settings from a map shaped like the environment; unknown keys are ignored. */
  public static Config from(Map<String, String> env) {
    Function<String, String> get =
        k -> {
          String v = env.get(k);
          return v == null || v.isBlank() ? null : v.trim();
        };
    String redis = get.apply("CHAT_REDIS_URL");
    String node = get.apply("CHAT_NODE_ID");
    String logFormat = get.apply("CHAT_LOG_FORMAT");
    return new Config(
        integer(get, "CHAT_PORT", 8080),
        redis,
        RedisSettings.from(get, redis),
        node != null ? node : defaultNodeId(),
        integer(get, "CHAT_INSTANCES", Runtime.getRuntime().availableProcessors()),
        longValue(get, "CHAT_HEARTBEAT_INTERVAL_MS", 25_000),
        longValue(get, "CHAT_HEARTBEAT_TIMEOUT_MS", 60_000),
        longValue(get, "CHAT_ACK_TIMEOUT_MS", 5_000),
        integer(get, "CHAT_MAX_REDELIVERIES", 5),
        integer(get, "CHAT_HISTORY_ON_JOIN", 50),
        integer(get, "CHAT_HISTORY_MAX", 1000),
        integer(get, "CHAT_MAX_FRAME_BYTES", 65_536),
        longValue(get, "CHAT_DEDUP_WINDOW_MS", 3_600_000),
        integer(get, "CHAT_MAX_PENDING_ACKS", 1000),
        integer(get, "CHAT_MAX_CONNECTIONS", 100_000),
        integer(get, "CHAT_MAX_ROOMS_PER_CONNECTION", 100),
        integer(get, "CHAT_RATE_LIMIT_PER_SEC", 50),
        integer(get, "CHAT_RATE_LIMIT_BURST", 100),
        longValue(get, "CHAT_NODE_LEASE_MS", 10_000),
        longValue(get, "CHAT_BROKER_TIMEOUT_MS", 5_000),
        integer(get, "CHAT_JOINED_USERS_MAX", 200),
        // CHAT_SHUTDOWN_MS is the name this setting had before the drain was spread over a window.
        longValue(get, "CHAT_DRAIN_MS", longValue(get, "CHAT_SHUTDOWN_MS", 10_000)),
        integer(get, "CHAT_MAX_CONNECTIONS_PER_IP", 0),
        integer(get, "CHAT_MAX_CONNECTIONS_PER_USER", 0),
        bool(get, "CHAT_TRUST_PROXY", false),
        integer(get, "CHAT_FRAME_RATE_PER_SEC", 200),
        integer(get, "CHAT_FRAME_BURST", 400),
        integer(get, "CHAT_RATE_LIMIT_STRIKES", 50),
        list(get, "CHAT_ALLOWED_ORIGINS"),
        AuthSettings.from(get),
        integer(get, "CHAT_MAX_WRITE_QUEUE_BYTES", 1_048_576),
        logFormat != null ? logFormat : "text",
        longValue(get, "CHAT_EVENT_LOOP_WARN_MS", 2_000),
        bool(get, "CHAT_ECHO_ENDPOINT", false),
        integer(get, "CHAT_PRESENCE_MAX_ONLINE", 0),
        integer(get, "CHAT_TYPING_MAX_ONLINE", 0),
        integer(get, "CHAT_READ_MAX_ONLINE", 0),
        ApiSettings.from(get));
  }

  /** True when no Redis URL is configured and the embedded single-node broker is used. */
  public boolean embeddedBroker() {
    return redisUrl == null;
  }

  private static String defaultNodeId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      host = "chat";
    }
    String suffix = UUID.randomUUID().toString().substring(0, 6);
    String base = host.length() > 50 ? host.substring(0, 50) : host;
    return base + "-" + suffix;
  }

  static int integer(Function<String, String> get, String key, int fallback) {
    return Math.toIntExact(longValue(get, key, fallback));
  }

  private static boolean bool(Function<String, String> get, String key, boolean fallback) {
    String v = get.apply(key);
    if (v == null) {
      return fallback;
    }
    return switch (v.toLowerCase(java.util.Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new IllegalArgumentException(key + " must be true or false, got '" + v + "'");
    };
  }

  private static List<String> list(Function<String, String> get, String key) {
    String v = get.apply(key);
    if (v == null) {
      return List.of();
    }
    return Arrays.stream(v.split(",")).map(String::trim).filter(e -> !e.isEmpty()).toList();
  }

  static long longValue(Function<String, String> get, String key, long fallback) {
    String v = get.apply(key);
    if (v == null) {
      return fallback;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number, got '" + v + "'");
    }
  }

  static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
