package dev.chat.deploy;

import dev.chat.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The environment variables the service reads, derived from its code rather than written down
 * twice: every string literal that is exactly a {@code CHAT_…} name in the main sources (the names
 * {@link Config#from} looks up), and every {@code ${CHAT_…}} the logback configuration substitutes.
 * A manifest that sets any other {@code CHAT_} variable names something the service ignores.
 */
final class ServiceEnvironment {

  private static final Pattern JAVA_LITERAL = Pattern.compile("\"(CHAT_[A-Z0-9_]+)\"");
  private static final Pattern LOGBACK_VARIABLE = Pattern.compile("\\$\\{(CHAT_[A-Z0-9_]+)");
  private static final Path MAIN = Path.of("chat-service", "src", "main");

  private ServiceEnvironment() {}

  /** Names read by the Java code. */
  static Set<String> readByCode() {
    Set<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.walk(Repo.root().resolve(MAIN.resolve("java")))) {
      files
          .filter(p -> p.toString().endsWith(".java"))
          .forEach(p -> collect(JAVA_LITERAL, read(p), names));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return names;
  }

  /** Names substituted by the logging configuration (every logback*.xml in the resources). */
  static Set<String> readByLogging() {
    Set<String> names = new TreeSet<>();
    try (Stream<Path> files = Files.walk(Repo.root().resolve(MAIN.resolve("resources")))) {
      files
          .filter(p -> p.getFileName().toString().matches("logback.*\\.xml"))
          .forEach(p -> collect(LOGBACK_VARIABLE, read(p), names));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return names;
  }

  /** Every name the running service reads. */
  static Set<String> known() {
    Set<String> names = new TreeSet<>(readByCode());
    names.addAll(readByLogging());
    return names;
  }

  /** True if the service reads {@code name}: a deployment may set it. */
  static boolean allowed(String name) {
    return known().contains(name);
  }

  /** The service's settings as a deployment's environment gives them (unknown names ignored). */
  static Config config(Map<String, String> env) {
    return Config.from(env);
  }

  /** How long a node drains after SIGTERM (CHAT_DRAIN_MS). */
  static long drainWindowMs(Config config) {
    return config.drainMs();
  }

  private static void collect(Pattern pattern, String text, Set<String> into) {
    Matcher m = pattern.matcher(text);
    while (m.find()) {
      into.add(m.group(1));
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
