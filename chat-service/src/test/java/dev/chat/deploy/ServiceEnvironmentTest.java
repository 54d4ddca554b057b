package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.config.Config;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The list of environment variables the deployment checks hold manifests against is derived from
 * the code; these tests make sure that derivation sees what the service really reads, and that
 * docs/configuration.md documents exactly those names.
 */
class ServiceEnvironmentTest {

  private static final String MARKER = "zz-marker-7";
  private static final Pattern DOC_ROW = Pattern.compile("(?m)^\\| `(CHAT_[A-Z0-9_]+)` \\|");
  private static final Pattern DOC_MENTION = Pattern.compile("`(CHAT_[A-Z0-9_]+)`");

  /** Documented, but read by scripts/run rather than by the service. */
  private static final Set<String> SCRIPT_ONLY = Set.of("CHAT_JAVA_OPTS");

  @Test
  @DisplayName("the scan of the code finds the core settings, and logback's variables")
  void scanFindsCoreNames() {
    assertThat(ServiceEnvironment.readByCode())
        .contains("CHAT_PORT", "CHAT_REDIS_URL", "CHAT_NODE_ID", "CHAT_HEARTBEAT_TIMEOUT_MS");
    assertThat(ServiceEnvironment.readByLogging()).contains("CHAT_LOG_LEVEL");
  }

  @Test
  @DisplayName("every name found in the code changes what Config.from reads")
  void everyScannedNameIsRead() {
    for (String name : ServiceEnvironment.readByCode()) {
      Map<String, String> base = new HashMap<>(Map.of("CHAT_NODE_ID", "base-node"));
      if (name.startsWith("CHAT_JWT_")) {
        // JWT settings are refused unless JWT mode is on with a key.
        base.put("CHAT_AUTH", "jwt");
        base.put("CHAT_JWT_SECRET", "0123456789abcdef0123456789abcdef");
      }
      Config before = Config.from(base);
      Map<String, String> env = new HashMap<>(base);
      env.put(name, MARKER);
      try {
        assertThat(Config.from(env)).as("the config with %s=%s", name, MARKER).isNotEqualTo(before);
      } catch (IllegalArgumentException e) {
        assertThat(e.getMessage()).as("Config.from rejected %s=%s", name, MARKER).contains(name);
      }
    }
  }

  @Test
  @DisplayName("a name the code does not read is not allowed in a deployment")
  void unknownNamesAreNotAllowed() {
    assertThat(ServiceEnvironment.allowed("CHAT_PORT")).isTrue();
    assertThat(ServiceEnvironment.allowed("CHAT_HEARTBEAT_TIMOUT_MS")).isFalse();
    assertThatThrownBy(() -> Config.from(Map.of("CHAT_PORT", "eighty")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName(
      "docs/configuration.md has a row for no name the service ignores, and mentions every name it reads")
  void configurationDocsMatchTheCode() {
    String docs = Repo.read("docs/configuration.md");
    Set<String> rows = names(DOC_ROW, docs);
    Set<String> readable = new TreeSet<>(ServiceEnvironment.known());
    readable.addAll(SCRIPT_ONLY);
    assertThat(rows).as("documented rows").isSubsetOf(readable);
    // An old name kept as a fallback may be mentioned in its successor's row rather than have one.
    assertThat(names(DOC_MENTION, docs))
        .as("names mentioned")
        .containsAll(ServiceEnvironment.known());
  }

  private static Set<String> names(Pattern pattern, String text) {
    Set<String> names = new TreeSet<>();
    Matcher m = pattern.matcher(text);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }
}
