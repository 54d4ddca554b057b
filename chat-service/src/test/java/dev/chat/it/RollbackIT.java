package dev.chat.it;

import static dev.chat.it.LiveChecks.awaitTrue;
import static dev.chat.testing.TestIds.room;
import static dev.chat.testing.TestIds.user;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.ChatCluster;
import dev.chat.testing.ChatNode;
import dev.chat.testing.ChatPeer;
import dev.chat.testing.RedisServer;
import dev.chat.testing.TestIds;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Redis restarts from an older snapshot (issue 10): five messages, {@code SAVE}, five more, all
 * acknowledged, {@code kill -9}, a restart in the same directory that loads the snapshot. The five
 * acknowledged after the snapshot are gone from Redis; the service must say so (a new epoch, {@code
 * recovered:false}) and never reuse their seqs in the epoch they were acknowledged in.
 */
@Timeout(120)
class RollbackIT {

  private static final Duration READY = Duration.ofSeconds(30);

  @RegisterExtension
  final ChatCluster cluster =
      ChatCluster.named("rollback")
          .perTest()
          .snapshots()
          .env("CHAT_BROKER_TIMEOUT_MS", "1000")
          .env("CHAT_ACK_TIMEOUT_MS", "30000")
          .env("CHAT_RATE_LIMIT_PER_SEC", "10000")
          .env("CHAT_RATE_LIMIT_BURST", "10000")
          .nodes(2)
          .build();

  private RedisServer redis;
  private final List<ChatNode> nodes = new ArrayList<>();

  @BeforeEach
  void start() {
    redis = cluster.redis();
    nodes.add(cluster.a());
    nodes.add(cluster.b());
  }

  private ChatNode node(String name) {
    return cluster.startNode(name + "-" + TestIds.random(), Map.of());
  }

  private ChatPeer connect(ChatNode node, String user) {
    return cluster.connect(node, user);
  }

  @Test
  @DisplayName(
      "(a) members who stay connected get a new joined with a new epoch and recovered:false before"
          + " any message of it, then every later message once; no seq is reused within an epoch")
  void connectedMembers() {
    String room = room();
    ChatPeer alice = connect(nodes.get(0), user("alice"));
    ChatPeer bob = connect(nodes.get(1), user("bob"));
    String epoch = alice.join(room).getString("epoch");
    assertThat(bob.join(room).getString("epoch")).isEqualTo(epoch);

    List<String> before = sendFiveSaveFive(alice, room);
    bob.awaitSeq(room, 10);
    alice.awaitSeq(room, 10);

    rollBack();
    // Sent as soon as the nodes are ready, without waiting for the members' new joined: the
    // new epoch must reach them first all the same.
    List<String> after = sendAcked(alice, room, "after", 5);

    for (ChatPeer member : List.of(alice, bob)) {
      JsonObject reset = member.awaitJoined(room);
      assertThat(reset.getString("epoch")).as("%s's new epoch", member).isNotEqualTo(epoch);
      assertThat(reset.getBoolean("recovered")).isFalse();
      assertThat(reset.getLong("seq"))
          .as("the snapshot's head, or later")
          .isGreaterThanOrEqualTo(5);
      awaitMessage(member, after.get(4));
      Map<String, List<String>> byEpoch = idsByEpoch(member, room);
      assertThat(byEpoch.get(epoch)).as("%s, old epoch", member).isEqualTo(before);
      // The new epoch replays the history that survived, then every message acked after it.
      assertThat(byEpoch.get(reset.getString("epoch")))
          .as("%s, new epoch", member)
          .isEqualTo(concat(before.subList(0, 5), after));
      assertNoSeqReused(member, room);
    }
  }

  @Test
  @DisplayName(
      "(b) a member resuming with epoch and since across the rollback gets recovered:false and a"
          + " new epoch, never recovered:true while missing acknowledged messages")
  void resumeAcrossTheRollback() {
    String room = room();
    ChatPeer alice = connect(nodes.get(0), user("alice"));
    String carolId = user("carol");
    ChatPeer carol = connect(nodes.get(1), carolId);
    String epoch = alice.join(room).getString("epoch");
    carol.join(room);
    sendFiveSaveFive(alice, room);
    carol.awaitSeq(room, 10);
    carol.close();

    rollBack();
    List<String> after = sendAcked(alice, room, "after", 5);

    ChatPeer back = connect(nodes.get(0), carolId);
    JsonObject joined = back.resume(room, epoch, 10);
    assertThat(joined.getBoolean("recovered")).isFalse();
    assertThat(joined.getString("epoch")).isNotEqualTo(epoch);
    assertThat(joined.getLong("seq")).isEqualTo(10);
    List<JsonObject> replay = back.awaitMessages(room, 10);
    assertThat(replay.subList(5, 10)).extracting(m -> m.getString("id")).isEqualTo(after);
  }

  @Test
  @DisplayName(
      "(c) with every node restarted together with Redis, a resume from past the snapshot is not"
          + " recovered and the room is in a new epoch: no node's memory is needed")
  void everyNodeRestartedWithRedis() {
    String room = room();
    ChatPeer alice = connect(nodes.get(0), user("alice"));
    String carolId = user("carol");
    ChatPeer carol = connect(nodes.get(1), carolId);
    String epoch = alice.join(room).getString("epoch");
    carol.join(room);
    sendFiveSaveFive(alice, room);
    carol.awaitSeq(room, 10);

    cluster.closeClients();
    nodes.forEach(ChatNode::kill);
    nodes.clear();
    redis.kill();
    redis.restart();
    nodes.add(node("rollback-c"));
    nodes.add(node("rollback-d"));

    ChatPeer alice2 = connect(nodes.get(0), alice.user());
    JsonObject aliceBack = alice2.resume(room, epoch, 10);
    assertThat(aliceBack.getBoolean("recovered")).isFalse();
    String newEpoch = aliceBack.getString("epoch");
    assertThat(newEpoch).isNotEqualTo(epoch);
    List<String> after = sendAcked(alice2, room, "after", 5);

    ChatPeer carol2 = connect(nodes.get(1), carolId);
    JsonObject carolBack = carol2.resume(room, epoch, 10);
    assertThat(carolBack.getBoolean("recovered")).isFalse();
    assertThat(carolBack.getString("epoch")).isEqualTo(newEpoch);
    assertThat(carol2.awaitMessages(room, 10).subList(5, 10))
        .extracting(m -> m.getString("id"))
        .isEqualTo(after);
    // In the new epoch a resume is honoured again.
    assertThat(carol2.resume(room, newEpoch, 8).getBoolean("recovered")).isTrue();
  }

  /** Sends five, has Redis save, sends five more; all acknowledged as seqs 1..10. */
  private List<String> sendFiveSaveFive(ChatPeer sender, String room) {
    List<String> ids = new ArrayList<>(sendAcked(sender, room, "before", 5));
    redis.save();
    ids.addAll(sendAcked(sender, room, "unsaved", 5));
    return ids;
  }

  /** Kills Redis (SIGKILL), restarts it from its snapshot, and waits for both nodes to be ready. */
  private void rollBack() {
    redis.kill();
    awaitTrue("nodes not ready", READY, () -> nodes.stream().allMatch(n -> notReady(n)));
    redis.restart();
    awaitTrue(
        "nodes ready",
        READY,
        () -> nodes.stream().allMatch(n -> n.httpStatus("/health/ready") == 200));
  }

  private static boolean notReady(ChatNode node) {
    return node.httpStatus("/health/ready") != 200;
  }

  /**
   * Sends {@code count} messages one by one, each until acknowledged: right after a Redis restart a
   * node may still answer {@code unavailable}, and a client sends the same id again.
   */
  private static List<String> sendAcked(ChatPeer sender, String room, String prefix, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      String id = prefix + "-" + i + "-" + UUID.randomUUID().toString().substring(0, 6);
      JsonObject answer = sender.say(room, id, prefix + " " + i);
      for (int attempt = 0; !"ack".equals(answer.getString("type")); attempt++) {
        assertThat(answer.getString("code")).as("answer to %s", id).isEqualTo("unavailable");
        assertThat(attempt).as("attempts for %s", id).isLessThan(50);
        LiveChecks.pause(Duration.ofMillis(100));
        answer = sender.say(room, id, prefix + " " + i);
      }
      ids.add(id);
    }
    return ids;
  }

  /**
   * What a client following the contract shows of {@code room}, by epoch: the ids of the message
   * frames after each {@code joined}, in arrival order; a {@code joined} with {@code
   * recovered:false} starts its epoch's view over, as the client resets the room.
   */
  private static Map<String, List<String>> idsByEpoch(ChatPeer member, String room) {
    Map<String, List<String>> ids = new HashMap<>();
    String epoch = null;
    for (JsonObject f : member.received()) {
      if (!room.equals(f.getString("room"))) {
        continue;
      }
      if ("joined".equals(f.getString("type"))) {
        epoch = f.getString("epoch");
        if (f.getBoolean("recovered")) {
          ids.computeIfAbsent(epoch, e -> new ArrayList<>());
        } else {
          ids.put(epoch, new ArrayList<>());
        }
      } else if ("message".equals(f.getString("type"))) {
        ids.get(epoch).add(f.getString("id"));
      }
    }
    return ids;
  }

  /** Within one epoch, a seq always names the same message (checked across every joined). */
  private static void assertNoSeqReused(ChatPeer member, String room) {
    Map<String, String> idOf = new HashMap<>();
    String epoch = null;
    for (JsonObject f : member.received()) {
      if (!room.equals(f.getString("room"))) {
        continue;
      }
      if ("joined".equals(f.getString("type"))) {
        epoch = f.getString("epoch");
      } else if ("message".equals(f.getString("type"))) {
        String key = epoch + "#" + f.getLong("seq");
        String previous = idOf.putIfAbsent(key, f.getString("id"));
        assertThat(previous == null || previous.equals(f.getString("id")))
            .as(
                "%s: seq %s of epoch %s was %s, then %s",
                member, f.getLong("seq"), epoch, previous, f.getString("id"))
            .isTrue();
      }
    }
  }

  /** Waits for the message frame with {@code id} (seqs alone repeat across epochs). */
  private static void awaitMessage(ChatPeer member, String id) {
    member.claim(
        f -> "message".equals(f.getString("type")) && id.equals(f.getString("id")),
        "message " + id);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
