package dev.chat.broker;

import java.util.function.Predicate;

/** Receives a broker's live traffic on the broker's event loop. */
public interface BrokerListener {

  /** A stored message of a subscribed room; {@code frame} is the complete UTF-8 message frame. */
  void onMessage(String room, String epoch, long seq, byte[] frame);

  /**
   * A user's first presence in the room began ({@code join}) or their last ended ({@code leave}).
   */
  void onPresence(String room, String event, String user, int online);

  /** An ephemeral frame of a subscribed room (typing, a read receipt); see {@link Signal}. */
  void onSignal(String room, Signal signal);

  /**
   * The live stream was interrupted and is back (subscriptions restored): anything may have been
   * missed, and the store may have lost its data, so every room must be re-read.
   */
  void onResync();

  /**
   * Like {@link #onResync()}, for the rooms {@code affected} accepts only (a Redis Cluster shard
   * whose subscriptions were interrupted): the others' streams went on.
   */
  default void onResync(Predicate<String> affected) {
    onResync();
  }
}
