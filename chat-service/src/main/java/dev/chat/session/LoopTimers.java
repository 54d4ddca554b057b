package dev.chat.session;

import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * The deadlines of every socket on one event loop (heartbeats, redeliveries) on one hashed wheel,
 * driven by one periodic Vert.x timer that runs only while something is armed.
 *
 * <p>A Vert.x timer per socket costs a handler, a Netty scheduled task in the loop's priority queue
 * and an entry in Vert.x's map of timers, made and dropped every time a deadline moves. Here a
 * deadline is a {@link Timer} the socket owns and re-arms in place: a doubly linked node moved
 * between slots, O(1), nothing allocated. A timer fires on the first tick at or after its deadline
 * (at most {@link #TICK_MS} late, never early); one further than a turn of the wheel stays in its
 * slot and is passed over until it is due. Confined to its event loop, like the sessions using it.
 */
final class LoopTimers {

  static final long TICK_MS = 10;
  private static final int SLOTS = 512; // one turn is 5.12 s: a heartbeat is looked at ~5 times
  private static final String KEY = LoopTimers.class.getName();

  /** A deadline on the wheel, owned by one socket for one job and re-armed in place. */
  abstract static class Timer {
    Timer prev;
    Timer next;
    private int slot = -1;
    private long at;

    /** Runs on the loop once the deadline has passed; may re-arm this timer. */
    abstract void fire(long now);

    final boolean armed() {
      return slot >= 0;
    }

    /** The deadline it is armed for (ms on the monotonic clock); meaningless when not armed. */
    final long at() {
      return at;
    }
  }

  private static final class Head extends Timer {
    Head() {
      unlinkSelf(this);
    }

    @Override
    void fire(long now) {}
  }

  private final Vertx vertx;
  private final long tickMs;
  private final int mask;
  // One list per slot, and the last one holds a slot's timers while it is being processed, so that
  // a fire that cancels or re-arms any other timer finds it in a list like any other.
  private final Head[] heads;
  private final int processing;
  private long lastTick;
  private int armed;
  private long periodic = -1;
  private boolean ticking;

  LoopTimers(Vertx vertx, long tickMs, int slots) {
    if (Integer.bitCount(slots) != 1) {
      throw new IllegalArgumentException("slots must be a power of two: " + slots);
    }
    this.vertx = vertx;
    this.tickMs = tickMs;
    this.mask = slots - 1;
    this.heads = new Head[slots + 1];
    for (int i = 0; i < heads.length; i++) {
      heads[i] = new Head();
    }
    this.processing = slots;
  }

  /** The wheel of the calling event loop's context, made on first use. */
  static LoopTimers of(Vertx vertx) {
    Context context = vertx.getOrCreateContext();
    LoopTimers timers = context.get(KEY);
    if (timers == null) {
      timers = new LoopTimers(vertx, TICK_MS, SLOTS);
      context.put(KEY, timers);
    }
    return timers;
  }

  /** Arms {@code timer} for {@code at}, moving it if it was armed. */
  void arm(Timer timer, long at, long now) {
    if (timer.armed()) {
      unlink(timer);
    } else {
      armed++;
      if (periodic == -1) {
        start(now);
      }
    }
    timer.at = at;
    link(timer, slotOf(at));
  }

  /** Disarms {@code timer}; nothing if it was not armed. */
  void cancel(Timer timer) {
    if (timer.armed()) {
      unlink(timer);
      timer.slot = -1;
      if (--armed == 0 && !ticking) {
        stop();
      }
    }
  }

  /** How many timers are armed (for tests). */
  int armed() {
    return armed;
  }

  /** Whether the periodic Vert.x timer is running (for tests). */
  boolean running() {
    return periodic != -1;
  }

  private void start(long now) {
    lastTick = now / tickMs;
    periodic = vertx.setPeriodic(tickMs, id -> tick(now()));
  }

  private void stop() {
    vertx.cancelTimer(periodic);
    periodic = -1;
  }

  /** Processes every tick up to {@code now}'s, each slot at most once however late the loop is. */
  void tick(long now) {
    long current = now / tickMs;
    long from = Math.max(lastTick + 1, current - mask);
    ticking = true;
    try {
      for (long t = from; t <= current && armed > 0; t++) {
        lastTick = t;
        process(heads[(int) (t & mask)], now);
      }
    } finally {
      ticking = false;
    }
    lastTick = current;
    // A timer that re-arms itself as it fires keeps the periodic timer: it stops only here.
    if (armed == 0 && periodic != -1) {
      stop();
    }
  }

  private void process(Head slot, long now) {
    Head work = heads[processing];
    if (slot.next == slot) {
      return;
    }
    // Splice the whole slot into the work list.
    work.next = slot.next;
    work.prev = slot.prev;
    work.next.prev = work;
    work.prev.next = work;
    unlinkSelf(slot);
    // Popped one at a time: a fire may cancel or re-arm any timer still in the work list.
    for (Timer t = work.next; t != work; t = work.next) {
      unlink(t);
      if (t.at <= now) {
        t.slot = -1;
        armed--;
        t.fire(now);
      } else {
        link(t, slotOf(t.at));
      }
    }
  }

  /** The slot of the first tick not yet processed at or after {@code at}. */
  private int slotOf(long at) {
    long tick = Math.max(Math.floorDiv(at + tickMs - 1, tickMs), lastTick + 1);
    return (int) (tick & mask);
  }

  private void link(Timer t, int slot) {
    Head head = heads[slot];
    t.slot = slot;
    t.prev = head.prev;
    t.next = head;
    head.prev.next = t;
    head.prev = t;
  }

  private static void unlink(Timer t) {
    t.prev.next = t.next;
    t.next.prev = t.prev;
    t.prev = null;
    t.next = null;
  }

  private static void unlinkSelf(Timer head) {
    head.next = head;
    head.prev = head;
  }

  /** Milliseconds on the monotonic clock, as {@link Session} counts them. */
  static long now() {
    return System.nanoTime() / 1_000_000;
  }
}
