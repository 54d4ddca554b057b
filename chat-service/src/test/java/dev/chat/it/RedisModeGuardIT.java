package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.ChatNode;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Replica acks in cluster mode are not built yet: a node asked for them must not run without them.
 * (Sentinel mode and replica acks run: SentinelModeIT, SentinelFailoverIT; cluster mode runs:
 * ClusterModeIT.)
 */
@Timeout(60)
@DisplayName("A node asked for a Redis setting the broker does not speak yet")
class RedisModeGuardIT {

  @Test
  @DisplayName("refuses CHAT_REDIS_REPLICAS_ACK with CHAT_REDIS_MODE=cluster with exit code 2")
  void refusesReplicaAcksOnCluster() {
    assertThatThrownBy(
            () ->
                ChatNode.builder()
                    .env("CHAT_REDIS_MODE", "cluster")
                    .env("CHAT_REDIS_URL", "redis://127.0.0.1:7000,redis://127.0.0.1:7001")
                    .env("CHAT_REDIS_REPLICAS_ACK", "1")
                    .readyTimeout(Duration.ofSeconds(30))
                    .start())
        .hasMessageContaining("exited with 2")
        .hasMessageContaining(
            "CHAT_REDIS_REPLICAS_ACK is not supported with CHAT_REDIS_MODE=cluster yet");
  }
}
