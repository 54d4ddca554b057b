package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.chat.config.Config;
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
      Map<String, String> env = Map.of(name, MARKER);
      try {
        Config config = Config.from(env);
        assertThat(config.toString()).as("%s=%s shows up in the config", name, MARKER).contains(MARKER);
      } catch (IllegalArgumentException e) {
        assertThat(e.getMessage()).as("Config.from rejected %s=%s by name", name, MARKER).contains(name);
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
  @DisplayName("reserved names are not read by the service yet (drop them from RESERVED once they are)")
  void reservedNamesAreNotReadYet() {
    assertThat(ServiceEnvironment.known()).doesNotContainAnyElementsOf(ServiceEnvironment.RESERVED);
  }

  @Test
  @DisplayName("docs/configuration.md documents exactly the names the service reads")
  void configurationDocsMatchTheCode() {
    Set<String> documented = new TreeSet<>();
    Matcher m = DOC_ROW.matcher(Repo.read("docs/configuration.md"));
    while (m.find()) {
      documented.add(m.group(1));
    }
    Set<String> expected = new TreeSet<>(ServiceEnvironment.known());
    expected.addAll(SCRIPT_ONLY);
    assertThat(documented).isEqualTo(expected);
  }
}
