package dev.chat.protocol;

/** Validates user ids, room names and inbox names as the wire contract defines them. */
public final class Names {

  /** The prefix that turns a user id into the name of that user's inbox room. */
  public static final char INBOX_PREFIX = '@';

  public static final int MAX_USER_ID = 32;
  public static final int MAX_ROOM_NAME = 64;

  private Names() {}

  /** 1–32 code points, each a Unicode letter or digit, {@code _}, {@code -} or {@code .}. */
  public static boolean isUserId(String s) {
    return s != null && isUserId(s, 0);
  }

  /** 1–64 characters of {@code A-Z a-z 0-9 _ . -}. */
  public static boolean isRoomName(String s) {
    if (s == null || s.isEmpty() || s.length() > MAX_ROOM_NAME) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (!isRoomChar(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** {@code @} followed by a valid user id. */
  public static boolean isInbox(String s) {
    return s != null && s.length() > 1 && s.charAt(0) == INBOX_PREFIX && isUserId(s, 1);
  }

  /** Anything a client may join: a room name or an inbox name. */
  public static boolean isRoom(String s) {
    return isRoomName(s) || isInbox(s);
  }

  public static String inboxOf(String user) {
    return INBOX_PREFIX + user;
  }

  /** The user whose inbox {@code room} is, or null when it is not an inbox. */
  public static String inboxOwner(String room) {
    return isInbox(room) ? room.substring(1) : null;
  }

  // Takes an offset so that isInbox need not allocate a substring on every frame.
  private static boolean isUserId(String s, int from) {
    int length = s.length();
    // A code point is at most two chars, so this rejects long strings before scanning them.
    if (from >= length || length - from > 2 * MAX_USER_ID) {
      return false;
    }
    int count = 0;
    for (int i = from; i < length; count++) {
      int cp = s.codePointAt(i);
      if (!isUserIdCodePoint(cp)) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return count <= MAX_USER_ID;
  }

  private static boolean isUserIdCodePoint(int cp) {
    if (cp < 0x80) {
      return isAsciiAlphanumeric(cp) || cp == '_' || cp == '-' || cp == '.';
    }
    return Character.isLetterOrDigit(cp);
  }

  private static boolean isRoomChar(char c) {
    return isAsciiAlphanumeric(c) || c == '_' || c == '-' || c == '.';
  }

  private static boolean isAsciiAlphanumeric(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }
}
