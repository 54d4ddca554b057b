package dev.chat.room;

import dev.chat.broker.Broker;
import dev.chat.broker.BrokerListener;
import dev.chat.broker.Presence;
import dev.chat.broker.ReadRequest;
import dev.chat.broker.Signal;
import dev.chat.broker.Snapshot;
import dev.chat.metrics.Metrics;
import dev.chat.protocol.Names;
import dev.chat.protocol.ServerFrames;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rooms of one event loop: subscribes a room while it has local members, gives every member a
 * gap-free, duplicate-free stream from its join on, and repairs the live stream from history.
 *
 * <p>While any history read of a room is in flight (a join or a repair), its live messages are held
 * back; afterwards they are delivered in order. A member's stream starts at the snapshot of its
 * join, and members drop seqs they already have, so the replay and the live stream meet with no gap
 * and no duplicate. A seq gap or a new epoch on the live stream triggers a repair read.
 */
public final class RoomHub implements BrokerListener {

  private static final Logger LOG = LoggerFactory.getLogger(RoomHub.class);
  private static final int MAX_HELD = 10_000;
  private static final long REPAIR_RETRY_MS = 500;
  private static final long TYPING_INTERVAL_MS = 1_000;

  private final Vertx vertx;
  private final Broker broker;
  private final Presence presence;
  private final int historyOnJoin;
  private final int presenceMaxOnline;
  private final Metrics metrics;
  private final Map<String, Room> rooms = new HashMap<>();
  private int typingMaxOnline;
  private int readMaxOnline;

  /**
   * {@code presenceMaxOnline}: rooms with more users online announce no joins and leaves (0: no
   * limit).
   */
  public RoomHub(
      Vertx vertx,
      Broker broker,
      Presence presence,
      int historyOnJoin,
      int presenceMaxOnline,
      Metrics metrics) {
    this.vertx = vertx;
    this.broker = broker;
    this.presence = presence;
    this.historyOnJoin = historyOnJoin;
    this.presenceMaxOnline = presenceMaxOnline;
    this.metrics = metrics;
    broker.listener(this);
  }

  /** Joins {@code member} to a room; completes once the member was handed its snapshot. */
  public Future<Void> join(Member member, String name, String epoch, Long since) {
    Room room = rooms.computeIfAbsent(name, this::open);
    if (!room.members.remove(member) && !room.joining.contains(member)) {
      room.addUser(member.user());
    }
    room.joining.add(member);
    return room.subscribed
        .compose(
            v -> {
              if (!room.joining.contains(member)) {
                return Future.succeededFuture();
              }
              room.busy++;
              String presenceUser = Names.isInbox(name) ? null : member.user();
              return presence
                  .join(name, presenceUser, new ReadRequest(epoch, since, historyOnJoin), false)
                  .andThen(ar -> room.busy--)
                  .map(
                      snapshot -> {
                        if (room.joining.remove(member)) {
                          admit(room, member, snapshot);
                        }
                        return (Void) null;
                      })
                  .eventually(
                      () -> {
                        settle(room);
                        return Future.succeededFuture();
                      });
            })
        .onFailure(e -> leave(member, name));
  }

  /**
   * Removes {@code member} from a room, announcing a leave when it was the user's last local
   * connection.
   */
  public void leave(Member member, String name) {
    Room room = rooms.get(name);
    if (room == null) {
      return;
    }
    // Both sets are cleared: a member may still be joining when it leaves.
    boolean wasMember = room.members.remove(member);
    boolean wasJoining = room.joining.remove(member);
    if (!wasMember && !wasJoining) {
      return;
    }
    if (room.removeUser(member.user()) && !Names.isInbox(name)) {
      presence.leave(name, member.user());
    }
    if (room.empty()) {
      rooms.remove(name);
      broker.unsubscribe(name);
    }
  }

  /**
   * Rooms with more users online forward no typing frames (0: no limit), as {@code
   * presenceMaxOnline} bounds presence.
   */
  public RoomHub typingMaxOnline(int max) {
    this.typingMaxOnline = max;
    return this;
  }

  /**
   * Rooms with more users online send a read receipt only to the reader's own connections (0: no
   * limit): their unread counts still follow the user across devices, but nobody else hears who
   * read what, so one receipt costs a loop over this node's members and no frame to the others.
   */
  public RoomHub readMaxOnline(int max) {
    this.readMaxOnline = max;
    return this;
  }

  /**
   * Forwards that {@code member}'s user is typing in a room to every other member on every node: at
   * most once a second per user and room on this node, nothing for a member that has not been
   * admitted, and nothing in a room above {@code typingMaxOnline}. False when it was not a member.
   */
  public boolean typing(Member member, String name, long nowMs) {
    Room room = rooms.get(name);
    if (room == null || !room.members.contains(member)) {
      return false;
    }
    if (typingMaxOnline > 0 && room.online > typingMaxOnline) {
      return true;
    }
    Long last = room.typingAt.get(member.user());
    if (last != null && nowMs - last < TYPING_INTERVAL_MS) {
      return true;
    }
    room.typingAt.put(member.user(), nowMs);
    byte[] frame = ServerFrames.typing(name, member.user());
    broker.signal(name, new Signal(Signal.Kind.TYPING, member.user(), frame));
    return true;
  }

  /** Number of rooms with local members. */
  public int size() {
    return rooms.size();
  }

  @Override
  public void onMessage(String name, String epoch, long seq, byte[] frame) {
    Room room = rooms.get(name);
    if (room == null) {
      return;
    }
    if (room.busy > 0) {
      hold(room, epoch, seq, frame);
    } else if (room.initialized) {
      accept(room, epoch, seq, frame);
    }
  }

  @Override
  public void onPresence(String name, String event, String user, int online) {
    Room room = rooms.get(name);
    if (room == null) {
      return;
    }
    room.online = online;
    if (room.members.isEmpty() || (presenceMaxOnline > 0 && online > presenceMaxOnline)) {
      return;
    }
    byte[] frame = ServerFrames.presence(name, event, user, online);
    for (Member m : room.members) {
      if (!m.user().equals(user)) {
        m.presence(name, frame);
      }
    }
  }

  /**
   * One pass over the local members with the frame the sending node encoded: the same work per
   * member as a message, and no broker call per member.
   */
  @Override
  public void onSignal(String name, Signal signal) {
    Room room = rooms.get(name);
    if (room == null) {
      return;
    }
    boolean others = signal.kind() == Signal.Kind.TYPING;
    boolean ownOnly =
        signal.kind() == Signal.Kind.READ && readMaxOnline > 0 && room.online > readMaxOnline;
    for (Member m : room.members) {
      boolean own = m.user().equals(signal.user());
      if (others ? !own : own || !ownOnly) {
        m.signal(name, signal.frame());
      }
    }
  }

  @Override
  public void onResync() {
    onResync(room -> true);
  }

  @Override
  public void onResync(Predicate<String> affected) {
    List<Room> resynced = new ArrayList<>();
    rooms
        .values()
        .forEach(
            r -> {
              if (affected.test(r.name)) {
                resynced.add(r);
              }
            });
    LOG.info("live stream restored, re-reading {} of {} rooms", resynced.size(), rooms.size());
    for (Room room : resynced) {
      if (!Names.isInbox(room.name)) {
        // Not silent: the join is announced only if Redis no longer lists the user at all, and
        // then members were told she left (a survivor reaped this node while it was cut off) or
        // lost her with Redis's data; they must hear she is here.
        room.localUsers
            .keySet()
            .forEach(u -> presence.join(room.name, u, ReadRequest.stateOnly(), false));
      }
      room.needsRepair = true;
      settle(room);
    }
  }

  private Room open(String name) {
    Room room = new Room(name);
    room.subscribed = broker.subscribe(name);
    return room;
  }

  private void admit(Room room, Member member, Snapshot snapshot) {
    room.online = snapshot.online();
    if (!room.initialized) {
      room.epoch = snapshot.epoch();
      room.seq = snapshot.seq();
      room.initialized = true;
    } else if (!snapshot.epoch().equals(room.epoch)) {
      // The store lost the room while we held an older epoch: everyone starts over, this member
      // too.
      room.members.add(member);
      room.needsReset = true;
      return;
    }
    member.joined(room.name, snapshot);
    room.members.add(member);
  }

  private void hold(Room room, String epoch, long seq, byte[] frame) {
    if (room.held.size() >= MAX_HELD) {
      room.needsRepair = true;
      return;
    }
    room.held.add(new Room.Held(epoch, seq, frame));
  }

  private void accept(Room room, String epoch, long seq, byte[] frame) {
    if (!epoch.equals(room.epoch) || seq > room.seq + 1) {
      hold(room, epoch, seq, frame);
      repair(room);
      return;
    }
    if (seq <= room.seq) {
      return;
    }
    room.seq = seq;
    for (Member m : room.members) {
      m.deliver(room.name, seq, frame);
    }
  }

  /** Runs what waited for the room to be idle: a repair, then the held-back messages. */
  private void settle(Room room) {
    if (room.busy > 0 || rooms.get(room.name) != room) {
      return;
    }
    if (!room.initialized) {
      room.held.clear();
      return;
    }
    if (room.needsRepair || room.needsReset) {
      repair(room);
      return;
    }
    while (!room.held.isEmpty() && room.busy == 0) {
      Room.Held h = room.held.poll();
      accept(room, h.epoch(), h.seq(), h.frame());
    }
  }

  /**
   * Drops the first {@code count} held messages unless they are of {@code epoch}, which a read made
   * after they arrived returned: epochs never come back, so theirs is a lost history. Held, such a
   * message would trigger the next repair, forever.
   */
  private static void dropLostEpochs(Room room, int count, String epoch) {
    Iterator<Room.Held> it = room.held.iterator();
    for (int i = 0; i < count && it.hasNext(); i++) {
      if (!it.next().epoch().equals(epoch)) {
        it.remove();
      }
    }
  }

  private void repair(Room room) {
    boolean reset = room.needsReset;
    room.needsRepair = false;
    room.needsReset = false;
    room.busy++;
    int heldBefore = room.held.size();
    ReadRequest read =
        reset
            ? new ReadRequest(null, null, historyOnJoin)
            : new ReadRequest(room.epoch, room.seq, historyOnJoin);
    broker
        .read(room.name, read)
        .onComplete(
            ar -> {
              room.busy--;
              if (ar.failed()) {
                room.needsRepair = true;
                room.needsReset |= reset;
                LOG.atDebug()
                    .addKeyValue("room", room.name)
                    .log("repair failed, retrying: {}", ar.cause().getMessage());
                vertx.setTimer(REPAIR_RETRY_MS, t -> settle(room));
                return;
              }
              Snapshot s = ar.result();
              dropLostEpochs(room, heldBefore, s.epoch());
              if (s.recovered()) {
                long before = room.seq;
                for (int i = 0; i < s.messages().size(); i++) {
                  accept(room, s.epoch(), s.seqOf(i), s.messages().get(i));
                }
                if (room.seq > before) {
                  metrics.gapRepaired();
                }
              } else {
                LOG.atInfo()
                    .addKeyValue("room", room.name)
                    .addKeyValue("epoch", s.epoch())
                    .addKeyValue("seq", s.seq())
                    .log("room starts over: its history was lost or trimmed");
                room.epoch = s.epoch();
                room.seq = s.seq();
                for (Member m : List.copyOf(room.members)) {
                  m.joined(room.name, s);
                }
              }
              settle(room);
            });
  }
}
