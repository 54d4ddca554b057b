package dev.chat.broker;

import io.vertx.core.Future;

/**
 * Who is in which room, counted across the cluster; the presence part of a node's {@link Backend}.
 * One instance serves one event loop, as its {@link Broker} does, and announces joins and leaves on
 * that broker's listener.
 *
 * <p>The guarantees, checked by one contract test suite:
 *
 * <ul>
 *   <li>Presence counts distinct users across nodes; a node that dies without leaving has its users
 *       removed (and {@code leave} announced) once its lease runs out.
 *   <li>A leave that fails because the store cannot be reached is not lost: it is applied (and
 *       announced) once the store answers again; a live node whose presences the store lost
 *       registers them again.
 *   <li>Closing the backend announces the leaves of every presence it holds.
 * </ul>
 */
public interface Presence {

  /**
   * Registers {@code user} as present in {@code room} (announcing a join if it is the user's first
   * presence in the cluster, unless {@code silent}) and reads the room. Registering and reading are
   * one step so the member list and the history are of one instant, before anything the live stream
   * brings next; a null user only reads.
   */
  Future<Snapshot> join(String room, String user, ReadRequest read, boolean silent);

  /** Removes this node's presence of {@code user} in {@code room}, announcing a leave if last. */
  Future<Void> leave(String room, String user);
}
