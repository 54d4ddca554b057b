package dev.chat.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's files, found from wherever the tests run (Maven runs them in chat-service/). */
final class Repo {

  private static final Path ROOT = findRoot();

  private Repo() {}

  static Path root() {
    return ROOT;
  }

  static Path path(String relative) {
    return ROOT.resolve(relative);
  }

  static String read(String relative) {
    try {
      return Files.readString(path(relative), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path findRoot() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path d = dir; d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("deploy/nginx/chat.conf"))
          && Files.isDirectory(d.resolve("chat-service"))) {
        return d;
      }
    }
    throw new IllegalStateException(
        "no repository root (with deploy/nginx/chat.conf) above " + dir);
  }
}
