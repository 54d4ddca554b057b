package dev.chat.protocol;

import dev.chat.protocol.ClientFrame.Ack;

/**
 * Reads the one frame clients send most, {@code {"type":"ack","room":"…","seq":N}} exactly as
 * chat-client.js writes it, without a JSON parser: every delivery is acked, so this runs about once
 * per delivery. Anything else, including every variant a JSON parser would also accept (spaces,
 * other field orders, escapes, extra fields), is "no match" and goes to {@link ClientCodec}.
 */
final class AckScanner {

  private static final String HEAD = "{\"type\":\"ack\",\"room\":\"";
  private static final String MIDDLE = "\",\"seq\":";

  /** Long.MAX_VALUE has 19 digits; a longer number is left to the parser (it is refused there). */
  private static final int MAX_DIGITS = 19;

  private AckScanner() {}

  /** The ack {@code json} is, or null when it is not exactly in the shape above. */
  static Ack scan(String json) {
    int length = json.length();
    if (length < HEAD.length() + 1 + MIDDLE.length() + 2 || !json.startsWith(HEAD)) {
      return null;
    }
    int roomStart = HEAD.length();
    int roomEnd = json.indexOf('"', roomStart);
    if (roomEnd <= roomStart || !json.startsWith(MIDDLE, roomEnd)) {
      return null;
    }
    int digits = roomEnd + MIDDLE.length();
    int end = length - 1;
    if (json.charAt(end) != '}' || end == digits || end - digits > MAX_DIGITS) {
      return null;
    }
    // JSON has no leading zeros: "01" is malformed, so only "0" itself may start with 0.
    if (json.charAt(digits) == '0' && end - digits > 1) {
      return null;
    }
    long seq = 0;
    for (int i = digits; i < end; i++) {
      char c = json.charAt(i);
      if (c < '0' || c > '9') {
        return null;
      }
      seq = seq * 10 + (c - '0');
      if (seq < 0) {
        return null; // past Long.MAX_VALUE
      }
    }
    String room = json.substring(roomStart, roomEnd);
    // No valid room has a backslash, so an escape (a different name once decoded) fails here too;
    // a room that breaks the rules gets the parser's error message.
    if (!Names.isRoom(room)) {
      return null;
    }
    return new Ack(room, seq);
  }
}
