package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.broker.BrokerNode.Presence;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The {@link dev.chat.broker.Presence} guarantees, run against every implementation. */
abstract class PresenceContractTest extends BackendContract {

  @Test
  @DisplayName(
      "presence announces a user's first join and last leave across brokers, and online counts distinct users")
  void presenceCountsDistinctUsersAcrossBrokers() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String u1 = user();
    String u2 = user();
    String fence = user();
    a.subscribe(r);
    b.subscribe(r);

    Snapshot s1 = a.join(r, u1, latest(0));
    assertThat(s1.online()).isEqualTo(1);
    assertThat(s1.users()).containsExactly(u1);
    Snapshot s2 = b.join(r, u2, latest(0));
    assertThat(s2.online()).isEqualTo(2);
    assertThat(s2.users()).containsExactlyInAnyOrder(u1, u2);
    assertThat(s2.usersTruncated()).isFalse();

    Snapshot again = b.join(r, u1, latest(0));
    assertThat(again.online()).as("u1 twice is still one user").isEqualTo(2);
    assertThat(again.users()).containsExactlyInAnyOrder(u1, u2);
    a.call(backend -> backend.presence().leave(r, u1));
    b.call(backend -> backend.presence().leave(r, user()));
    a.join(r, fence, latest(0));

    List<Presence> expected =
        List.of(
            new Presence(r, "join", u1, 1),
            new Presence(r, "join", u2, 2),
            new Presence(r, "join", fence, 3));
    assertThat(a.awaitPresence(r, "join", fence)).containsExactlyElementsOf(expected);
    assertThat(b.awaitPresence(r, "join", fence)).containsExactlyElementsOf(expected);
    assertThat(a.read(r, ReadRequest.stateOnly()).users())
        .as("u1 is still here through b")
        .containsExactlyInAnyOrder(u1, u2, fence);

    b.call(backend -> backend.presence().leave(r, u1));
    assertThat(a.awaitPresence(r, "leave", u1)).last().isEqualTo(new Presence(r, "leave", u1, 2));
    Snapshot after = b.read(r, ReadRequest.stateOnly());
    assertThat(after.online()).isEqualTo(2);
    assertThat(after.users()).containsExactlyInAnyOrder(u2, fence);
  }

  @Test
  @DisplayName(
      "a silent join announces nothing but counts in online and users; a read touches no presence")
  void silentJoinAnnouncesNothing() {
    Cluster cluster = cluster();
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    String quiet = user();
    String loud = user();
    a.subscribe(r);

    Snapshot s = b.call(backend -> backend.presence().join(r, quiet, latest(0), true));
    assertThat(s.online()).isEqualTo(1);
    assertThat(s.users()).containsExactly(quiet);
    assertThat(b.read(r, ReadRequest.stateOnly()).online()).isEqualTo(1);
    b.join(r, loud, latest(0));

    assertThat(a.awaitPresence(r, "join", loud)).containsExactly(new Presence(r, "join", loud, 2));
    b.call(backend -> backend.presence().leave(r, quiet));
    assertThat(a.awaitPresence(r, "leave", quiet))
        .last()
        .isEqualTo(new Presence(r, "leave", quiet, 1));
  }

  @Test
  @DisplayName("the users list stops at CHAT_JOINED_USERS_MAX and then says it was truncated")
  void usersListIsTruncated() {
    Cluster cluster = cluster(Map.of("CHAT_JOINED_USERS_MAX", "2"));
    BrokerNode a = cluster.node();
    BrokerNode b = cluster.node();
    String r = room();
    List<String> users = List.of(user(), user(), user());

    a.join(r, users.get(0), latest(0));
    Snapshot two = b.join(r, users.get(1), latest(0));
    assertThat(two.users()).containsExactlyInAnyOrderElementsOf(users.subList(0, 2));
    assertThat(two.usersTruncated()).isFalse();

    for (Snapshot three :
        List.of(a.join(r, users.get(2), latest(0)), b.read(r, ReadRequest.stateOnly()))) {
      assertThat(three.online()).isEqualTo(3);
      assertThat(three.users()).hasSize(2).doesNotHaveDuplicates();
      assertThat(users).containsAll(three.users());
      assertThat(three.usersTruncated()).isTrue();
    }
  }

  @Test
  @DisplayName(
      "close removes the broker's remaining presences and announces the leaves of users it was the last for")
  void closeAnnouncesLeaves() {
    Cluster cluster = cluster();
    BrokerNode closing = cluster.node();
    BrokerNode staying = cluster.node();
    String r1 = room();
    String r2 = room();
    String only = user();
    String both = user();
    String other = user();
    staying.subscribe(r1);
    staying.subscribe(r2);
    closing.join(r1, only, latest(0));
    closing.join(r1, both, latest(0));
    // presence does not depend on the live stream: a room the broker stopped listening to still
    // counts
    closing.subscribe(r2);
    closing.join(r2, other, latest(0));
    closing.call(backend -> backend.broker().unsubscribe(r2));
    staying.join(r1, both, latest(0));
    staying.awaitPresence(r2, "join", other);

    closing.close();
    staying.awaitPresence(r2, "leave", other);
    staying.call(backend -> backend.presence().leave(r1, both));
    assertThat(staying.awaitPresence(r1, "leave", both))
        .containsExactly(
            new Presence(r1, "join", only, 1), new Presence(r1, "join", both, 2),
            new Presence(r1, "leave", only, 1), new Presence(r1, "leave", both, 0));
    assertThat(staying.presences(r2))
        .containsExactly(new Presence(r2, "join", other, 1), new Presence(r2, "leave", other, 0));
    assertThat(staying.read(r1, ReadRequest.stateOnly()).online()).isZero();
  }
}
