package dev.chat.protocol;

/**
 * Every WebSocket close code the service sends, with its reason text and whether a client should
 * reconnect. The close-code table of docs/protocol.md is the source of truth for clients;
 * CloseCodeTableTest holds this enum and chat-client.js's {@code closePolicy} to it.
 */
public enum CloseCode {
  /** The client broke RFC 6455 framing (the WebSocket codec rejected a frame). */
  PROTOCOL_ERROR(1002, "websocket protocol error", false),
  /** The client sent a binary frame; the protocol is text-only JSON. */
  BINARY(1003, "binary frames are not accepted", false),
  /** The client sent a text frame that is not valid UTF-8. */
  INVALID_UTF8(1007, "text frame is not valid UTF-8", false),
  /** Policy violation: repeated bad frames, flooding, or an origin that is not allowed. */
  POLICY(1008, "policy violation", false),
  /**
   * Policy violation of one kind: frames faster than the frame budget, or sends despite {@code
   * rate_limited}.
   */
  FLOODING(1008, "flooding: too many frames", false),
  /** A frame or message larger than the limit ({@code CHAT_MAX_FRAME_BYTES}, default 64 KiB). */
  TOO_BIG(1009, "frame too big", false),
  /** The node is shutting down: reconnect, to another node, and resume with {@code since}. */
  SHUTTING_DOWN(1012, "node shutting down, reconnect", true),
  /** The node is at its connection limit: try again later, with backoff. */
  OVERLOADED(1013, "node at connection limit, try again later", true),
  /**
   * The user or the client address holds as many connections as the cluster allows: try again
   * later.
   */
  TOO_MANY_CONNECTIONS(
      1013, "too many connections for this user or address, try again later", true),
  /** Nothing came from the client for {@code heartbeat.timeoutMs}. */
  HEARTBEAT_TIMEOUT(4000, "heartbeat timeout", true),
  /**
   * A message stayed unacknowledged after {@code maxRedeliveries}; the client resumes with {@code
   * since}.
   */
  UNACKED(4001, "too many unacknowledged messages", true),
  /** The connection's JWT expired; the client reconnects with a fresh token. */
  TOKEN_EXPIRED(4002, "token expired", true),
  /**
   * The application's backend disconnected the user through the server API ({@code POST
   * /api/users/{user}/disconnect}): reconnecting on its own would undo what the application asked.
   */
  DISCONNECTED(4003, "disconnected by the application", false);

  private final short code;
  private final String reason;
  private final boolean reconnect;

  CloseCode(int code, String reason, boolean reconnect) {
    this.code = (short) code;
    this.reason = reason;
    this.reconnect = reconnect;
  }

  /** The status code sent in the close frame. */
  public short code() {
    return code;
  }

  /** The reason sent in the close frame; short, because RFC 6455 caps it at 123 bytes. */
  public String reason() {
    return reason;
  }

  /** Whether a well-behaved client should reconnect after this close, rather than give up. */
  public boolean reconnect() {
    return reconnect;
  }
}
