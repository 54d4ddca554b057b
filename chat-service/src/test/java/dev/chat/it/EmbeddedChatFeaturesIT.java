package dev.chat.it;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import java.util.Map;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The v1.1 frames on one node with the embedded broker (several event loops, one store). */
@Timeout(60)
class EmbeddedChatFeaturesIT extends ChatFeatures {

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("feat-mem")
          .env(ChatCluster.QUIET_TIMERS)
          .env(ENV)
          .embeddedNode(Map.of("CHAT_INSTANCES", "2"))
          .build();

  @Override
  ChatCluster cluster() {
    return cluster;
  }

  @Override
  ChatNode a() {
    return cluster.a();
  }

  @Override
  ChatNode b() {
    return cluster.a();
  }
}
