package dev.chat.session;

import dev.chat.protocol.CloseCode;

/** Where a session's frames go: the WebSocket in production, a recorder in tests. */
public interface Outbound {

  /** Writes one complete UTF-8 JSON text frame. */
  void send(byte[] frame);

  /** Writes a WebSocket ping frame. */
  void ping();

  /** Closes with a close frame carrying {@code code}; later calls do nothing. */
  void close(CloseCode code);

  /**
   * True while the socket's write queue is over its high-water mark (the client is not reading).
   */
  boolean writeQueueFull();
}
