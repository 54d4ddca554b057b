package dev.chat.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The drain and log settings")
class OperationsConfigTest {

  @Test
  @DisplayName("the drain window defaults to 10 s")
  void drainDefault() {
    assertThat(Config.from(Map.of()).drainMs()).isEqualTo(10_000);
  }

  @Test
  @DisplayName("CHAT_DRAIN_MS sets the drain window, and wins over the older CHAT_SHUTDOWN_MS")
  void drainWindow() {
    assertThat(Config.from(Map.of("CHAT_DRAIN_MS", "3000")).drainMs()).isEqualTo(3_000);
    assertThat(Config.from(Map.of("CHAT_DRAIN_MS", "3000", "CHAT_SHUTDOWN_MS", "7000")).drainMs())
        .isEqualTo(3_000);
  }

  @Test
  @DisplayName("CHAT_SHUTDOWN_MS, the older name, is read when CHAT_DRAIN_MS is unset")
  void olderName() {
    assertThat(Config.from(Map.of("CHAT_SHUTDOWN_MS", "2000")).drainMs()).isEqualTo(2_000);
  }

  @Test
  @DisplayName("a negative drain window is refused")
  void negativeDrain() {
    assertThatThrownBy(() -> Config.from(Map.of("CHAT_DRAIN_MS", "-1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CHAT_DRAIN_MS");
  }

  @Test
  @DisplayName("logs are text unless CHAT_LOG_FORMAT says json; any other format is refused")
  void logFormat() {
    assertThat(Config.from(Map.of()).logFormat()).isEqualTo("text");
    assertThat(Config.from(Map.of("CHAT_LOG_FORMAT", "json")).logFormat()).isEqualTo("json");
    assertThatThrownBy(() -> Config.from(Map.of("CHAT_LOG_FORMAT", "xml")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("CHAT_LOG_FORMAT");
  }
}
