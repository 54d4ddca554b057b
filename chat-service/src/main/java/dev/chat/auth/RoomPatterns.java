package dev.chat.auth;

import java.util.List;

/**
 * The rooms a token lets its user join: glob patterns where {@code *} matches any run of characters
 * and {@code ?} exactly one; everything else matches itself.
 */
public final class RoomPatterns {

  /** No restriction: the token has no {@code rooms} claim (or auth is off). */
  public static final RoomPatterns ANY = new RoomPatterns(null);

  /** Patterns one token may carry; more is a malformed token rather than a policy. */
  public static final int MAX_PATTERNS = 256;

  public static final int MAX_PATTERN_LENGTH = 128;

  private final List<String> patterns;

  private RoomPatterns(List<String> patterns) {
    this.patterns = patterns;
  }

  /** The given patterns; an empty list allows no room at all. */
  public static RoomPatterns of(List<String> patterns) {
    if (patterns.size() > MAX_PATTERNS) {
      throw new IllegalArgumentException("more than " + MAX_PATTERNS + " room patterns");
    }
    for (String p : patterns) {
      if (p.isEmpty() || p.length() > MAX_PATTERN_LENGTH) {
        throw new IllegalArgumentException(
            "a room pattern must be 1-" + MAX_PATTERN_LENGTH + " characters");
      }
    }
    return new RoomPatterns(List.copyOf(patterns));
  }

  public boolean allows(String room) {
    if (patterns == null) {
      return true;
    }
    for (String p : patterns) {
      if (matches(p, room)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Iterative wildcard matching: on a mismatch after a {@code *}, the star absorbs one more
   * character and matching resumes. O(pattern × name) at worst, with no regex to backtrack.
   */
  static boolean matches(String pattern, String name) {
    int p = 0;
    int n = 0;
    int star = -1;
    int resume = 0;
    while (n < name.length()) {
      if (p < pattern.length()
          && (pattern.charAt(p) == '?' || pattern.charAt(p) == name.charAt(n))) {
        p++;
        n++;
      } else if (p < pattern.length() && pattern.charAt(p) == '*') {
        star = p++;
        resume = n;
      } else if (star >= 0) {
        p = star + 1;
        n = ++resume;
      } else {
        return false;
      }
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }

  @Override
  public String toString() {
    return patterns == null ? "any room" : patterns.toString();
  }
}
