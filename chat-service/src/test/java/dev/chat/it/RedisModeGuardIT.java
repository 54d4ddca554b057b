package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.ChatNode;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Until the broker speaks cluster and sentinel, a node asked for them must not run standalone. */
@Timeout(60)
@DisplayName("A node asked for a Redis mode the broker does not speak yet")
class RedisModeGuardIT {

  @Test
  @DisplayName("refuses CHAT_REDIS_REPLICAS_ACK other than 0 at start and says why")
  void refusesReplicaAcks() {
    assertThatThrownBy(
            () ->
                ChatNode.builder()
                    .env("CHAT_REDIS_URL", "redis://127.0.0.1:6379")
                    .env("CHAT_REDIS_REPLICAS_ACK", "1")
                    .readyTimeout(Duration.ofSeconds(30))
                    .start())
        .hasMessageContaining("exited with 2")
        .hasMessageContaining("CHAT_REDIS_REPLICAS_ACK is not supported yet");
  }
}
