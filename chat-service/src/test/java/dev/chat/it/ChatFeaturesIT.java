package dev.chat.it;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The v1.1 frames across two nodes on one real Redis. */
@Timeout(60)
class ChatFeaturesIT extends ChatFeatures {

  @RegisterExtension
  static final ChatCluster cluster =
      ChatCluster.named("feat").env(ChatCluster.QUIET_TIMERS).env(ENV).nodes(2).build();

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
    return cluster.b();
  }
}
