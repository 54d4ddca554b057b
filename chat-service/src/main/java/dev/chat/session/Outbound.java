package dev.chat.session;

import dev.chat.protocol.CloseCode;

/** Where a session's frames go: the WebSocket in production, a recorder in tests. */
public interface Outbound {

  /** Writes one complete UTF-8 JSON text frame. */
  void send(byte[] frame);

  /**
   * Writes one complete UTF-8 JSON text frame that is being written to many sockets at once: the
   * same array, unchanged, to each. A socket may encode it once for all of them; by default it is
   * {@link #send}.
   */
  default void sendShared(byte[] frame) {
    send(frame);
  }

  /** Writes a WebSocket ping frame. */
  void ping();

  /** Closes with a close frame carrying {@code code}; later calls do nothing. */
  void close(CloseCode code);

  /**
   * True while the socket's write queue is over its high-water mark (the client is not reading).
   */
  boolean writeQueueFull();
}
