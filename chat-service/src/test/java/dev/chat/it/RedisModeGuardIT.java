package dev.chat.it;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.testing.ChatNode;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A replica-ack setting a node cannot honour must stop it before it serves: a {@code WAIT} with a
 * timeout of 0 blocks forever, so a send would hang while a replica is down. (Replica acks in
 * cluster mode run: ClusterFailoverIT; in sentinel mode: SentinelModeIT, SentinelFailoverIT.)
 */
@Timeout(60)
@DisplayName("A node asked for a replica ack it cannot honour")
class RedisModeGuardIT {

  @Test
  @DisplayName(
      "refuses CHAT_REDIS_REPLICAS_ACK with a timeout of 0 in CHAT_REDIS_MODE=cluster with exit code 2")
  void refusesAnEndlessWaitOnCluster() {
    assertThatThrownBy(
            () ->
                ChatNode.builder()
                    .env("CHAT_REDIS_MODE", "cluster")
                    .env("CHAT_REDIS_URL", "redis://127.0.0.1:7000,redis://127.0.0.1:7001")
                    .env("CHAT_REDIS_REPLICAS_ACK", "1")
                    .env("CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS", "0")
                    .readyTimeout(Duration.ofSeconds(30))
                    .start())
        .hasMessageContaining("exited with 2")
        .hasMessageContaining("CHAT_REDIS_REPLICAS_ACK_TIMEOUT_MS must be 1-60000");
  }
}
