package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.ChatNode;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Until the broker speaks cluster mode, a node asked for it must not run standalone. (Sentinel mode
 * and replica acks run: SentinelModeIT, SentinelFailoverIT.)
 */
@Timeout(60)
@DisplayName("A node asked for a Redis mode the broker does not speak yet")
class RedisModeGuardIT {

  @Test
  @DisplayName("refuses CHAT_REDIS_MODE=cluster at start with exit code 2 and says why")
  void refusesCluster() {
    assertThatThrownBy(
            () ->
                ChatNode.builder()
                    .env("CHAT_REDIS_MODE", "cluster")
                    .env("CHAT_REDIS_URL", "redis://127.0.0.1:7000,redis://127.0.0.1:7001")
                    .readyTimeout(Duration.ofSeconds(30))
                    .start())
        .hasMessageContaining("exited with 2")
        .hasMessageContaining("CHAT_REDIS_MODE=cluster is not supported yet");
  }
}
