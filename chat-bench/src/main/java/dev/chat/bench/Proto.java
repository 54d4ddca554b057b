package dev.chat.bench;

/** The wire protocol a run speaks. */
public enum Proto {
  OURS,
  SOCKETIO;

  public static Proto parse(String s) {
    return switch (s) {
      case "ours" -> OURS;
      case "socketio" -> SOCKETIO;
      default -> throw new IllegalArgumentException("--proto must be ours or socketio, not " + s);
    };
  }
}
