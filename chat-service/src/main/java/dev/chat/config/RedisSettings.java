package dev.chat.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * How the service reaches Redis beyond the URL: {@code CHAT_REDIS_MODE} and the settings of the
 * sentinel and cluster modes. {@code CHAT_REDIS_URL} itself stays {@link Config#redisUrl()}; in
 * cluster and sentinel mode it is a comma-separated list, parsed into {@link #seeds()}.
 *
 * @param mode {@code CHAT_REDIS_MODE} ({@code standalone}): {@code standalone}, {@code sentinel} or
 *     {@code cluster}
 * @param seeds {@code CHAT_REDIS_URL} as a list: the one URL in standalone mode, the seed nodes in
 *     cluster mode, the sentinels in sentinel mode; empty without Redis
 * @param sentinelMaster {@code CHAT_REDIS_SENTINEL_MASTER} ({@code mymaster}): the master's name
 *     the sentinels monitor
 * @param replicasAck {@code CHAT_REDIS_REPLICAS_ACK} (0): replicas that must hold a message (Redis
 *     {@code WAIT}) before its sender gets the ack
 * @param replicasAckTimeoutMs {@code CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS} (1000): how long that
 *     {@code WAIT} may take before the sender gets {@code unavailable}
 */
public record RedisSettings(
    Mode mode,
    List<String> seeds,
    String sentinelMaster,
    int replicasAck,
    long replicasAckTimeoutMs) {

  /** The Redis deployment the service talks to. */
  public enum Mode {
    STANDALONE,
    SENTINEL,
    CLUSTER;

    /** The name as {@code CHAT_REDIS_MODE} spells it. */
    public String setting() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public RedisSettings {
    seeds = List.copyOf(seeds);
    Config.require(
        mode == Mode.STANDALONE || !seeds.isEmpty(),
        "CHAT_REDIS_MODE="
            + mode.setting()
            + " needs CHAT_REDIS_URL: a comma-separated list of "
            + (mode == Mode.SENTINEL ? "sentinels" : "seed nodes"));
    Config.require(
        mode != Mode.STANDALONE || seeds.size() <= 1,
        "CHAT_REDIS_URL is a list, which needs CHAT_REDIS_MODE=cluster or sentinel");
    Config.require(
        sentinelMaster != null && !sentinelMaster.isBlank() && !sentinelMaster.contains(" "),
        "CHAT_REDIS_SENTINEL_MASTER must be a name without spaces");
    Config.require(
        replicasAck >= 0 && replicasAck <= 16, "CHAT_REDIS_REPLICAS_ACK must be 0-16 replicas");
    Config.require(
        replicasAck == 0 || !seeds.isEmpty(), "CHAT_REDIS_REPLICAS_ACK needs CHAT_REDIS_URL");
    // WAIT with a timeout of 0 blocks forever: a send would hang while a replica is down.
    Config.require(
        replicasAckTimeoutMs >= 1 && replicasAckTimeoutMs <= 60_000,
        "CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS must be 1-60000");
  }

  static RedisSettings from(Function<String, String> get, String redisUrl) {
    String mode = get.apply("CHAT_REDIS_MODE");
    String master = get.apply("CHAT_REDIS_SENTINEL_MASTER");
    Mode m = mode(mode == null ? "standalone" : mode);
    return new RedisSettings(
        m,
        redisUrl == null ? List.of() : seeds(redisUrl, m),
        master == null ? "mymaster" : master,
        Config.integer(get, "CHAT_REDIS_REPLICAS_ACK", 0),
        Config.longValue(get, "CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", 1_000));
  }

  private static Mode mode(String value) {
    for (Mode m : Mode.values()) {
      if (m.setting().equalsIgnoreCase(value)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "CHAT_REDIS_MODE must be standalone, sentinel or cluster, got '" + value + "'");
  }

  private static List<String> seeds(String url, Mode mode) {
    List<String> seeds = Arrays.stream(url.split(",", -1)).map(String::trim).toList();
    // A standalone URL goes to the client as it always did (it also takes unix:// sockets).
    if (mode != Mode.STANDALONE) {
      seeds.forEach(RedisSettings::checkUri);
    }
    return seeds;
  }

  private static void checkUri(String seed) {
    String problem;
    if (seed.isEmpty()) {
      problem = "an empty entry";
    } else {
      try {
        URI uri = new URI(seed);
        boolean scheme = "redis".equals(uri.getScheme()) || "rediss".equals(uri.getScheme());
        problem =
            !scheme
                ? "its scheme is not redis or rediss"
                : uri.getHost() == null ? "no host" : null;
      } catch (URISyntaxException e) {
        problem = e.getReason();
      }
    }
    Config.require(
        problem == null,
        "CHAT_REDIS_URL must be redis://host:port URLs separated by commas; '"
            + seed
            + "': "
            + problem);
  }

  /** Never prints credentials: configurations end up in logs. */
  @Override
  public String toString() {
    return "RedisSettings[mode="
        + mode.setting()
        + ", seeds="
        + seeds.size()
        + ", sentinelMaster="
        + sentinelMaster
        + ", replicasAck="
        + replicasAck
        + ", replicasAckTimeoutMs="
        + replicasAckTimeoutMs
        + "]";
  }
}
