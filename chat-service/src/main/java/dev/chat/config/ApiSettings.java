package dev.chat.config;

import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * The server API for the application's backend: {@code CHAT_API_KEY} and {@code CHAT_API_PORT}.
 *
 * @param key {@code CHAT_API_KEY} (unset): the bearer key every {@code /api} request must carry, at
 *     least 16 bytes of UTF-8; unset, the API is off and {@code /api/*} answers 404
 * @param port {@code CHAT_API_PORT} (0): 0 serves the API on {@code CHAT_PORT}, as the contract
 *     says; another port serves it there only, so a network policy can admit only the backend
 */
public record ApiSettings(String key, int port) {

  /** Below this a key could be guessed; 16 random bytes are 128 bits. */
  public static final int MIN_KEY_BYTES = 16;

  public static final ApiSettings OFF = new ApiSettings(null, 0);

  public ApiSettings {
    Config.require(
        key == null || key.getBytes(StandardCharsets.UTF_8).length >= MIN_KEY_BYTES,
        "CHAT_API_KEY must be at least " + MIN_KEY_BYTES + " bytes");
    Config.require(port >= 0 && port <= 65535, "CHAT_API_PORT must be 0-65535");
  }

  static ApiSettings from(Function<String, String> get) {
    return new ApiSettings(
        get.apply("CHAT_API_KEY"), Math.toIntExact(Config.longValue(get, "CHAT_API_PORT", 0)));
  }

  /** True when a key is set and the API is served. */
  public boolean enabled() {
    return key != null;
  }

  /** Never prints the key: configurations end up in logs. */
  @Override
  public String toString() {
    return "ApiSettings[" + (key != null ? "key=***" : "off") + ", port=" + port + "]";
  }
}
