package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * docker-compose.yml read as plain YAML (SnakeYAML resolves the {@code <<: *chat} merge keys as
 * Compose does); small typed views of what the tests need.
 */
final class ComposeFile {

  private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(ms|s|m|h)");

  final Map<String, Object> root;

  private ComposeFile(Map<String, Object> root) {
    this.root = root;
  }

  static ComposeFile load() {
    List<Map<String, Object>> docs = KubernetesManifests.documents(Repo.read("docker-compose.yml"));
    assertThat(docs).as("documents in docker-compose.yml").hasSize(1);
    return new ComposeFile(docs.get(0));
  }

  Map<String, Map<String, Object>> services() {
    Map<String, Map<String, Object>> services = new LinkedHashMap<>();
    map(root, "services").forEach((name, body) -> services.put(name, asMap(body, name)));
    return services;
  }

  Map<String, Object> service(String name) {
    Map<String, Map<String, Object>> services = services();
    assertThat(services).containsKey(name);
    return services.get(name);
  }

  /**
   * The services of one profile, by name: for {@code null} those that list none (what a plain
   * {@code docker compose up} starts), else those that list {@code profile}.
   */
  Map<String, Map<String, Object>> services(String profile) {
    Map<String, Map<String, Object>> selected = new LinkedHashMap<>();
    services()
        .forEach(
            (name, body) -> {
              List<String> profiles = profiles(body);
              if (profile == null ? profiles.isEmpty() : profiles.contains(profile)) {
                selected.put(name, body);
              }
            });
    return selected;
  }

  /** Every profile some service lists. */
  Set<String> profileNames() {
    Set<String> names = new TreeSet<>();
    services().values().forEach(body -> names.addAll(profiles(body)));
    return names;
  }

  static List<String> profiles(Map<String, Object> service) {
    Object raw = service.get("profiles");
    if (raw == null) {
      return List.of();
    }
    assertThat(raw).as("profiles").isInstanceOf(List.class);
    return ((List<?>) raw).stream().map(String::valueOf).toList();
  }

  /** The services of the default topology (no profile) built from chat-service/Dockerfile. */
  Map<String, Map<String, Object>> chatServices() {
    return chatServices(null);
  }

  /** The services of {@code profile} (see {@link #services(String)}) built from the Dockerfile. */
  Map<String, Map<String, Object>> chatServices(String profile) {
    Map<String, Map<String, Object>> chats = new LinkedHashMap<>();
    services(profile)
        .forEach(
            (name, body) -> {
              if (body.get("build") instanceof Map<?, ?> build
                  && "chat-service/Dockerfile".equals(build.get("dockerfile"))) {
                chats.put(name, body);
              }
            });
    return chats;
  }

  /** A service's environment as a map (Compose allows a map or a list of NAME=value). */
  static Map<String, String> environment(Map<String, Object> service) {
    Map<String, String> env = new LinkedHashMap<>();
    Object raw = service.get("environment");
    if (raw instanceof Map<?, ?> m) {
      m.forEach((k, v) -> env.put(String.valueOf(k), v == null ? null : String.valueOf(v)));
    } else if (raw instanceof List<?> list) {
      for (Object item : list) {
        String s = String.valueOf(item);
        int eq = s.indexOf('=');
        env.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? null : s.substring(eq + 1));
      }
    }
    return env;
  }

  /** A bind mount: host source (resolved against the repository) and container target. */
  record Mount(Path source, String target, boolean readOnly) {}

  static List<Mount> bindMounts(Map<String, Object> service) {
    List<Mount> mounts = new ArrayList<>();
    Object raw = service.get("volumes");
    if (raw instanceof List<?> list) {
      for (Object item : list) {
        String[] parts = String.valueOf(item).split(":");
        if (parts[0].startsWith(".") || parts[0].startsWith("/")) {
          mounts.add(
              new Mount(
                  Repo.root().resolve(parts[0]).normalize(),
                  parts[1],
                  parts.length > 2 && parts[2].contains("ro")));
        }
      }
    }
    return mounts;
  }

  /** The service's command in exec form (a list), which every service here uses. */
  static List<String> command(Map<String, Object> service, String name) {
    Object raw = service.get("command");
    assertThat(raw).as("%s command in exec form", name).isInstanceOf(List.class);
    return ((List<?>) raw).stream().map(String::valueOf).toList();
  }

  /** The value after {@code option} in a command line, or null if the option is absent. */
  static String option(List<String> command, String option) {
    int i = command.indexOf(option);
    assertThat(i).as("%s given once", option).isEqualTo(command.lastIndexOf(option));
    if (i < 0) {
      return null;
    }
    assertThat(i + 1).as("%s has a value", option).isLessThan(command.size());
    return command.get(i + 1);
  }

  /** The healthcheck's test as an argument list (CMD form). */
  @SuppressWarnings("unchecked")
  static List<String> healthcheck(Map<String, Object> service, String name) {
    Map<String, Object> health = asMap(service.get("healthcheck"), name + ".healthcheck");
    Object test = health.get("test");
    assertThat(test).as("%s healthcheck test in exec form", name).isInstanceOf(List.class);
    return (List<String>) test;
  }

  /** A Compose duration ("30s", "1m30s", "500ms") in milliseconds. */
  static long durationMs(Object value) {
    String s = String.valueOf(value);
    Matcher m = DURATION_PART.matcher(s);
    long total = 0;
    int consumed = 0;
    while (m.find()) {
      assertThat(m.start()).as("duration %s", s).isEqualTo(consumed);
      long n = Long.parseLong(m.group(1));
      total +=
          switch (m.group(2)) {
            case "ms" -> n;
            case "s" -> n * 1_000;
            case "m" -> n * 60_000;
            default -> n * 3_600_000;
          };
      consumed = m.end();
    }
    assertThat(consumed).as("duration %s", s).isEqualTo(s.length()).isPositive();
    return total;
  }

  static Map<String, Object> map(Map<String, Object> parent, String key) {
    return asMap(parent.get(key), key);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> asMap(Object value, String what) {
    assertThat(value).as(what).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }
}
