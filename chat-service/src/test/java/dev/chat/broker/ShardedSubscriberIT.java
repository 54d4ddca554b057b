package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.testing.RedisClusterExtension;
import dev.chat.testing.RedisServer;
import dev.chat.testing.RespClient;
import dev.chat.testing.TestLoop;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

@Timeout(120)
@DisplayName("The sharded subscriber on a real Redis Cluster")
class ShardedSubscriberIT {

  private static final Duration WAIT = Duration.ofSeconds(20);
  @RegisterExtension static final RedisClusterExtension redis = new RedisClusterExtension();

  private TestLoop loop;
  private ShardedSubscriber subscriber;
  private final Map<String, Set<String>> received = new ConcurrentHashMap<>();
  private final Set<Integer> restored = ConcurrentHashMap.newKeySet();
  private final List<String> channels = new ArrayList<>();

  @BeforeEach
  void start() {
    loop = TestLoop.on(redis.vertx());
    for (int i = 0; i < 60; i++) {
      channels.add(RedisKeys.channel("room-" + UUID.randomUUID()));
    }
  }

  @AfterEach
  void stop() {
    if (subscriber != null) {
      loop.await(() -> subscriber.close());
    }
    loop.close();
  }

  @Test
  @DisplayName("channels in slots of every shard each receive what is SPUBLISHed to them")
  void receivesOnEveryShard() {
    subscribeAll(new ShardedSubscriber.Timing(2_000, 2_000, 250));
    Set<RedisServer> shards = new HashSet<>();
    channels.forEach(c -> shards.add(redis.cluster().masterOf(Slots.slot(c))));
    assertThat(shards).as("masters serving the channels").hasSize(3);
    publishAllAndReceive("first");
    assertThat(noneOnReplicas()).as("no subscription of ours on any replica").isTrue();
    assertThat(restored).as("nothing was interrupted").isEmpty();
  }

  @Test
  @DisplayName("a loop held up past the probes' silence limit does not take its shards for lost")
  void aHeldUpLoopIsNotAShardLost() {
    // Probes every 250 ms; a connection that heard nothing for 2 s (the subscribe timeout) is lost.
    subscribeAll(new ShardedSubscriber.Timing(2_000, 600_000, 250));
    RedisServer master = redis.cluster().masterOf(Slots.slot(channels.get(0)));
    String probe =
        loop.call(() -> subscriber.probeChannelOf(new RedisAddress("127.0.0.1", master.port())));
    assertThat(probe).isNotNull();
    try (RespClient watcher = master.client()) {
      watcher.call("SSUBSCRIBE", probe);
      // 2.6 s with no turn of the loop (a long pause, a burst of work): past the silence limit,
      // with the probes' echoes unread in the sockets.
      loop.run(
          () -> {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2_600);
            while (System.nanoTime() < end) {
              Thread.onSpinWait();
            }
          });
      // Three probe rounds after the loop is free again: a shard taken for lost would be now.
      for (int i = 0; i < 3; i++) {
        assertThat(watcher.read(WAIT)).as("a probe on " + probe).isNotNull();
      }
    }
    assertThat(restored).as("no shard was lost and restored").isEmpty();
    assertThat(loop.call(subscriber::live)).isTrue();
    publishAllAndReceive("after-a-held-loop");
  }

  @Test
  @DisplayName(
      "after a CLUSTER FAILOVER every channel receives again and the shard's slots are named")
  void followsAFailover() {
    // No periodic refresh and no probes: only the old master's sunsubscribe can tell.
    subscribeAll(new ShardedSubscriber.Timing(2_000, 600_000, 600_000));
    int slot = Slots.slot(channels.get(0));
    RedisServer oldMaster = redis.cluster().masterOf(slot);
    Set<Integer> slotsOnIt = slotsServedBy(oldMaster);

    redis.cluster().failover(redis.cluster().replicaOf(slot));

    awaitTrue("the failed-over slots to be restored", () -> restored.containsAll(slotsOnIt));
    assertThat(restored).as("only the failed-over shard's slots").isEqualTo(slotsOnIt);
    awaitTrue("the subscriber to be live", () -> loop.call(subscriber::live));
    awaitTrue("no subscription of ours on any replica", this::noneOnReplicas);
    publishAllAndReceive("after-failover");
    assertThat(loop.call(() -> subscriber.topology().masterOf(slot)))
        .isEqualTo(new RedisAddress("127.0.0.1", redis.cluster().masterOf(slot).port()));
  }

  @Test
  @DisplayName("after one slot is resharded its channel receives again and only that slot is named")
  void followsAReshard() {
    subscribeAll(new ShardedSubscriber.Timing(2_000, 600_000, 600_000));
    int slot = Slots.slot(channels.get(0));
    RedisServer source = redis.cluster().masterOf(slot);
    RedisServer target =
        redis.cluster().masters().stream().filter(m -> m != source).findFirst().get();

    redis.cluster().reshard(slot, target);

    awaitTrue("the moved slot to be restored", () -> restored.contains(slot));
    assertThat(restored).containsExactly(slot);
    awaitTrue("the subscriber to be live", () -> loop.call(subscriber::live));
    publishAllAndReceive("after-reshard");
  }

  @Test
  @DisplayName(
      "a subscribe sent on a stale topology gets -MOVED and lands on the slot's new master")
  void followsMoved() {
    // No periodic refresh: only the MOVED answer can tell the subscriber the slot moved.
    subscribeAll(new ShardedSubscriber.Timing(5_000, 600_000, 250));
    String late = RedisKeys.channel("late-" + UUID.randomUUID());
    int slot = Slots.slot(late);
    channels.forEach(c -> assertThat(Slots.slot(c)).isNotEqualTo(slot));
    RedisServer source = redis.cluster().masterOf(slot);
    RedisServer target =
        redis.cluster().masters().stream().filter(m -> m != source).findFirst().get();
    redis.cluster().reshard(slot, target);
    assertThat(loop.call(() -> subscriber.topology().masterOf(slot)))
        .as("the subscriber's topology is stale")
        .isEqualTo(new RedisAddress("127.0.0.1", source.port()));

    loop.await(() -> subscriber.subscribe(late));
    channels.add(late);
    assertThat(loop.call(() -> subscriber.topology().masterOf(slot)))
        .isEqualTo(new RedisAddress("127.0.0.1", target.port()));
    publishAllAndReceive("after-moved");
  }

  @Test
  @DisplayName("when Redis kills the subscriber connections of a master they come back on it")
  void followsAConnectionKill() {
    subscribeAll(new ShardedSubscriber.Timing(2_000, 600_000, 600_000));
    RedisServer master = redis.cluster().masterOf(Slots.slot(channels.get(0)));
    try (RespClient c = master.client()) {
      assertThat((Long) c.call("CLIENT", "KILL", "TYPE", "pubsub")).isPositive();
    }
    Set<Integer> slotsOnIt = slotsServedBy(master);
    awaitTrue("the killed shard's slots to be restored", () -> restored.containsAll(slotsOnIt));
    assertThat(restored).isEqualTo(slotsOnIt);
    publishAllAndReceive("after-kill");
  }

  @Test
  @DisplayName("a master whose probes stop coming back is resubscribed, and its slots are named")
  void followsAFailedProbe() {
    subscribeAll(new ShardedSubscriber.Timing(1_000, 600_000, 200));
    RedisServer master = redis.cluster().masterOf(Slots.slot(channels.get(0)));
    Set<Integer> slotsOnIt = slotsServedBy(master);
    // Paused writes hold SPUBLISH (probes too) while the subscriber connection stays up and quiet:
    // only the probe can tell.
    try (RespClient c = master.client()) {
      c.call("CLIENT", "PAUSE", "3000", "WRITE");
    }
    awaitTrue("the paused shard's slots to be restored", () -> restored.containsAll(slotsOnIt));
    assertThat(restored).isEqualTo(slotsOnIt);
    publishAllAndReceive("after-pause");
  }

  private void subscribeAll(ShardedSubscriber.Timing timing) {
    subscriber =
        loop.call(
            () ->
                new ShardedSubscriber(
                    redis.vertx(),
                    redis.cluster().seedUris(),
                    timing,
                    (channel, payload) ->
                        received
                            .computeIfAbsent(channel, c -> ConcurrentHashMap.newKeySet())
                            .add(new String(payload, StandardCharsets.UTF_8)),
                    restored::addAll));
    loop.await(() -> subscriber.start());
    loop.await(() -> Future.all(channels.stream().map(subscriber::subscribe).toList()));
    assertThat(loop.call(subscriber::live)).isTrue();
  }

  /** True if no replica counts a subscriber on any of the test's channels. */
  private boolean noneOnReplicas() {
    List<RedisServer> masters = redis.cluster().masters();
    for (RedisServer node : redis.cluster().nodes()) {
      if (masters.contains(node)) {
        continue;
      }
      List<String> command = new ArrayList<>(List.of("PUBSUB", "SHARDNUMSUB"));
      command.addAll(channels);
      try (RespClient c = node.client()) {
        List<?> counts = (List<?>) c.call(command.toArray(String[]::new));
        for (int i = 1; i < counts.size(); i += 2) {
          if ((Long) counts.get(i) != 0) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** Slots of the test's channels that {@code master} served when asked. */
  private Set<Integer> slotsServedBy(RedisServer master) {
    Set<Integer> slots = new HashSet<>();
    channels.forEach(
        c -> {
          if (redis.cluster().masterOf(Slots.slot(c)) == master) {
            slots.add(Slots.slot(c));
          }
        });
    assertThat(slots).isNotEmpty();
    return slots;
  }

  private void publishAllAndReceive(String text) {
    for (String channel : channels) {
      RedisServer master = redis.cluster().masterOf(Slots.slot(channel));
      try (RespClient c = master.client()) {
        assertThat((Long) c.call("SPUBLISH", channel, text)).as(channel).isEqualTo(1L);
      }
    }
    awaitTrue(
        "every channel to receive " + text,
        () -> channels.stream().allMatch(c -> received.getOrDefault(c, Set.of()).contains(text)));
  }

  private static void awaitTrue(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
