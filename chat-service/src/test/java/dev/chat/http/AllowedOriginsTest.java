package dev.chat.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The allowed origins")
class AllowedOriginsTest {

  private final AllowedOrigins origins =
      AllowedOrigins.of(List.of("https://chat.example.com", "http://localhost:8080/"));

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "https://chat.example.com",
        "https://chat.example.com:443",
        "HTTPS://Chat.Example.COM",
        "http://localhost:8080"
      })
  @DisplayName("allow exactly the listed scheme, host and port, a default port written or not")
  void allowed(String origin) {
    assertThat(origins.allows(origin)).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "null",
        "http://chat.example.com",
        "https://chat.example.com:8443",
        "https://chat.example.com.evil.com",
        "https://evil-chat.example.com",
        "https://evilchat.example.com",
        "https://chat.example.co",
        "https://sub.chat.example.com",
        "https://chat.example.com@evil.com",
        "https://chat.example.com/path",
        "http://localhost:8081",
        "http://localhost",
        "http://127.0.0.1:8080",
        "",
        "chat.example.com",
        "https://",
        "file://"
      })
  @DisplayName(
      "refuse null, look-alike hosts, another scheme or port, and anything that is not an origin")
  void refused(String origin) {
    assertThat(origins.allows(origin)).isFalse();
  }

  @Test
  @DisplayName("allow a handshake without an Origin header (a non-browser client)")
  void missing() {
    assertThat(origins.allows(null)).isTrue();
  }

  @Test
  @DisplayName("allow any origin when none is configured")
  void unset() {
    AllowedOrigins any = AllowedOrigins.of(List.of());
    assertThat(any.allows("null")).isTrue();
    assertThat(any.allows("https://anything.example")).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "chat.example.com",
        "https://chat.example.com/app",
        "null",
        "*",
        "https://*.example.com"
      })
  @DisplayName("refuse to start with an entry that is not an origin")
  void badConfig(String entry) {
    assertThatThrownBy(() -> AllowedOrigins.of(List.of(entry)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CHAT_ALLOWED_ORIGINS");
  }
}
