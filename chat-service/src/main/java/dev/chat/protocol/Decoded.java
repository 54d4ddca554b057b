package dev.chat.protocol;

/** The outcome of decoding one client frame: the frame, or why it was rejected. */
public sealed interface Decoded {

  record Parsed(ClientFrame frame) implements Decoded {}

  /**
   * A rejected frame; {@code id} is the frame's own id when it was a {@code send}, {@code dm},
   * {@code edit} or {@code delete} with a valid id, so that the {@code error} frame can name the
   * message it answers.
   */
  record Invalid(String message, String id) implements Decoded {}
}
