package dev.chat.bench;

import java.nio.charset.StandardCharsets;

/**
 * Finds the few fields the generator needs in a received frame by scanning its bytes: no JSON tree,
 * no per-frame allocation beyond the strings actually asked for.
 *
 * <p>The frames scanned are the service's own (flat JSON objects whose string values the generator
 * chose, so they hold no escaped quotes in the fields read) and Socket.IO packets ({@code
 * 42["message",{...}]}, {@code 43<id>[...]}). A key is matched as {@code "key":}, so a key's name
 * inside a string value (the text) can only match when the text holds the quoted key followed by a
 * colon, which the generator's texts never do.
 */
public final class FrameScanner {
  private FrameScanner() {}

  /** Index of the first byte of the value of {@code "key":}, or -1. */
  public static int valueStart(byte[] b, int from, int to, byte[] quotedKeyColon) {
    int n = quotedKeyColon.length;
    outer:
    for (int i = from; i <= to - n; i++) {
      if (b[i] != quotedKeyColon[0]) continue;
      for (int j = 1; j < n; j++) if (b[i + j] != quotedKeyColon[j]) continue outer;
      int v = i + n;
      while (v < to && b[v] == ' ') v++;
      return v;
    }
    return -1;
  }

  /** The key as the scanner looks for it: {@code "key":}. */
  public static byte[] key(String name) {
    return ("\"" + name + "\":").getBytes(StandardCharsets.US_ASCII);
  }

  /** The long value of a numeric field, or {@code missing}. */
  public static long longField(byte[] b, int from, int to, byte[] key, long missing) {
    int v = valueStart(b, from, to, key);
    return v < 0 ? missing : parseLong(b, v, to, missing);
  }

  /** Parses an optionally signed decimal at {@code at}; {@code missing} when there is none. */
  public static long parseLong(byte[] b, int at, int to, long missing) {
    boolean neg = at < to && b[at] == '-';
    int i = neg ? at + 1 : at;
    long r = 0;
    int start = i;
    while (i < to && b[i] >= '0' && b[i] <= '9') r = r * 10 + (b[i++] - '0');
    if (i == start) return missing;
    return neg ? -r : r;
  }

  /** The string value of a field (no escapes expected), or null. */
  public static String stringField(byte[] b, int from, int to, byte[] key) {
    int v = valueStart(b, from, to, key);
    if (v < 0 || v >= to || b[v] != '"') return null;
    int end = indexOf(b, v + 1, to, (byte) '"');
    return end < 0 ? null : new String(b, v + 1, end - v - 1, StandardCharsets.UTF_8);
  }

  /** Whether a string field's value equals {@code expected} (ASCII), without allocating. */
  public static boolean stringFieldIs(byte[] b, int from, int to, byte[] key, byte[] expected) {
    int v = valueStart(b, from, to, key);
    if (v < 0 || v + expected.length + 2 > to || b[v] != '"') return false;
    for (int j = 0; j < expected.length; j++) if (b[v + 1 + j] != expected[j]) return false;
    return b[v + 1 + expected.length] == '"';
  }

  public static int indexOf(byte[] b, int from, int to, byte c) {
    for (int i = from; i < to; i++) if (b[i] == c) return i;
    return -1;
  }

  /**
   * The long that follows {@code marker} (for example {@code t=} in a message text), or {@code
   * missing}.
   */
  public static long longAfter(byte[] b, int from, int to, byte[] marker, long missing) {
    int n = marker.length;
    outer:
    for (int i = from; i <= to - n; i++) {
      for (int j = 0; j < n; j++) if (b[i + j] != marker[j]) continue outer;
      return parseLong(b, i + n, to, missing);
    }
    return missing;
  }

  /** A Socket.IO packet's kind, from its leading Engine.IO and Socket.IO type digits. */
  public enum SioKind {
    OPEN,
    PING,
    CONNECT,
    EVENT,
    ACK,
    CONNECT_ERROR,
    OTHER
  }

  public static SioKind sioKind(byte[] b, int len) {
    if (len == 0) return SioKind.OTHER;
    return switch (b[0]) {
      case '0' -> SioKind.OPEN;
      case '2' -> SioKind.PING;
      case '4' ->
          len < 2
              ? SioKind.OTHER
              : switch (b[1]) {
                case '0' -> SioKind.CONNECT;
                case '2' -> SioKind.EVENT;
                case '3' -> SioKind.ACK;
                case '4' -> SioKind.CONNECT_ERROR;
                default -> SioKind.OTHER;
              };
      default -> SioKind.OTHER;
    };
  }

  /** The ack id of a {@code 42<id>[...]} or {@code 43<id>[...]} packet, or -1 without one. */
  public static long sioAckId(byte[] b, int len) {
    return parseLong(b, 2, len, -1);
  }

  /**
   * Whether an event packet's name is {@code name}: {@code 42["name",} or {@code 42<id>["name",}.
   */
  public static boolean sioEventIs(byte[] b, int len, byte[] name) {
    int i = 2;
    while (i < len && b[i] >= '0' && b[i] <= '9') i++;
    if (i + name.length + 3 > len || b[i] != '[' || b[i + 1] != '"') return false;
    for (int j = 0; j < name.length; j++) if (b[i + 2 + j] != name[j]) return false;
    return b[i + 2 + name.length] == '"';
  }
}
