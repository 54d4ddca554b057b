package dev.chat.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.config.Config;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.vertx.core.json.JsonArray;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * chat-service/Dockerfile and .dockerignore, read as text (no Docker engine runs here): what can be
 * checked without building the image.
 */
class DockerfileTest {

  private static final String DOCKERFILE = "chat-service/Dockerfile";

  /** One instruction: its keyword, upper case, and its arguments with continuations joined. */
  record Instruction(String keyword, String args) {}

  /** A stage: its base image, its name (or null) and its instructions after FROM. */
  record Stage(String image, String name, List<Instruction> instructions) {
    List<Instruction> all(String keyword) {
      return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
    }
  }

  private static final List<Stage> STAGES = stages(Repo.read(DOCKERFILE));

  @Test
  @DisplayName("two stages: Maven builds the jar on a JDK 21+, a later stage runs it")
  void multiStage() {
    assertThat(STAGES).hasSizeGreaterThanOrEqualTo(2);
    Stage build = STAGES.get(0);
    assertThat(build.name()).as("the build stage is named, for COPY --from").isNotNull();
    assertThat(build.all("RUN"))
        .anyMatch(i -> i.args().contains("mvn") && i.args().contains(" package"));
    int release = Integer.parseInt(match(Repo.read("pom.xml"), "<maven.compiler.release>(\\d+)<"));
    assertThat(javaMajor(build.image()))
        .as("JDK of %s", build.image())
        .isGreaterThanOrEqualTo(Math.max(release, 21));
  }

  @Test
  @DisplayName("the runtime stage is a JRE 21 or newer")
  void runtimeIsAJre21() {
    String image = runtime().image();
    assertThat(image).contains("jre");
    assertThat(javaMajor(image)).as("Java version of %s", image).isGreaterThanOrEqualTo(21);
  }

  @Test
  @DisplayName("every base image is pinned to a version tag")
  void baseImagesArePinned() {
    assertThat(STAGES).allSatisfy(s -> KubernetesManifestsIT.assertPinned(s.image()));
  }

  @Test
  @DisplayName(
      "the runtime stage copies the service's jar from the build stage and runs it in exec form")
  void execFormEntrypoint() {
    Stage runtime = runtime();
    String finalName = match(Repo.read("chat-service/pom.xml"), "<finalName>([^<]+)</finalName>");
    Instruction copy =
        runtime.all("COPY").stream()
            .filter(i -> i.args().startsWith("--from=" + STAGES.get(0).name() + " "))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no COPY --from the build stage"));
    String[] parts = copy.args().split("\\s+");
    assertThat(parts[parts.length - 2]).isEqualTo("/src/chat-service/target/" + finalName + ".jar");
    String jar = parts[parts.length - 1];

    List<Instruction> entrypoints = runtime.all("ENTRYPOINT");
    assertThat(entrypoints).hasSize(1);
    String raw = entrypoints.get(0).args();
    assertThat(raw)
        .as("exec form: a JSON array, so java is PID 1 and gets SIGTERM")
        .startsWith("[");
    List<String> argv = new JsonArray(raw).stream().map(String::valueOf).toList();
    assertThat(argv.get(0)).isEqualTo("java");
    assertThat(argv).containsSubsequence("-jar", jar);
    assertThat(argv)
        .as("memory follows the container's limit")
        .anyMatch(a -> a.startsWith("-XX:MaxRAMPercentage="))
        .noneMatch(a -> a.startsWith("-Xmx"));
    assertThat(runtime.all("CMD")).allSatisfy(cmd -> assertThat(cmd.args()).startsWith("["));
    assertThat(runtime.all("STOPSIGNAL"))
        .allSatisfy(s -> assertThat(s.args()).isEqualTo("SIGTERM"));
  }

  @Test
  @DisplayName("the service runs as a numeric non-root user, the one the Kubernetes pods run as")
  void nonRootUser() {
    List<Instruction> users = runtime().all("USER");
    assertThat(users).as("USER in the runtime stage").isNotEmpty();
    String user = users.get(users.size() - 1).args();
    String uid = user.split(":")[0];
    assertThat(uid).as("numeric, so runAsNonRoot can verify it").matches("\\d+");
    assertThat(Long.parseLong(uid)).isNotZero();
    Deployment chat =
        KubernetesManifests.documents(Repo.read("k8s/chat-deployment.yaml")).stream()
            .map(KubernetesManifests::parse)
            .filter(Deployment.class::isInstance)
            .map(Deployment.class::cast)
            .findFirst()
            .orElseThrow();
    assertThat(chat.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsUser())
        .isEqualTo(Long.parseLong(uid));
  }

  @Test
  @DisplayName("EXPOSE is CHAT_PORT's default")
  void exposesTheDefaultPort() {
    int port = Config.from(Map.of()).port();
    assertThat(runtime().all("EXPOSE"))
        .extracting(Instruction::args)
        .containsExactly(Integer.toString(port));
  }

  @Test
  @DisplayName(
      ".dockerignore sends every file the build copies, and not target/, .git, tests or node_modules")
  void dockerignoreKeepsTheContextSmall() throws IOException {
    List<String> patterns =
        Repo.read(".dockerignore")
            .lines()
            .map(String::strip)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList();
    List<String> sources = new ArrayList<>();
    for (Stage stage : STAGES) {
      for (Instruction copy : stage.all("COPY")) {
        if (!copy.args().startsWith("--from=")) {
          String[] parts = copy.args().split("\\s+");
          sources.addAll(List.of(parts).subList(0, parts.length - 1));
        }
      }
    }
    assertThat(sources).isNotEmpty();
    for (String source : sources) {
      Path path = Repo.path(source);
      assertThat(path).as("COPY source %s", source).exists();
      try (Stream<Path> files = Files.walk(path)) {
        files
            .filter(Files::isRegularFile)
            .map(f -> Repo.root().relativize(f).toString().replace('\\', '/'))
            .forEach(
                f -> assertThat(ignored(patterns, f)).as("%s is sent to the build", f).isFalse());
      }
    }
    for (String left :
        List.of(
            ".git/HEAD",
            "chat-service/target/chat-service.jar",
            "chat-service/src/test/java/dev/chat/deploy/DockerfileTest.java",
            "web-tests/package.json",
            "web-tests/node_modules/x/index.js",
            "docker-compose.yml")) {
      assertThat(ignored(patterns, left)).as("%s is left out of the build context", left).isTrue();
    }
  }

  @Test
  @DisplayName(
      "the build stage copies the pom of every module the parent lists, before Maven first runs")
  void everyModulePomReachesTheBuild() {
    // Maven refuses a reactor whose module has no pom, even with -pl: the image broke this way once
    // a second module (chat-bench) joined the parent.
    List<String> modules =
        Pattern.compile("<module>([^<]+)</module>")
            .matcher(Repo.read("pom.xml"))
            .results()
            .map(m -> m.group(1).strip())
            .toList();
    assertThat(modules).contains("chat-service");
    List<String> copiedBeforeMaven = new ArrayList<>();
    for (Instruction i : STAGES.get(0).instructions()) {
      if (i.keyword().equals("RUN") && i.args().contains("mvn")) {
        break;
      }
      if (i.keyword().equals("COPY")) {
        copiedBeforeMaven.add(i.args());
      }
    }
    for (String module : modules) {
      assertThat(copiedBeforeMaven)
          .as("COPY of %s/pom.xml", module)
          .anyMatch(args -> List.of(args.split("\\s+")).contains(module + "/pom.xml"));
    }
  }

  // --- parsing ---------------------------------------------------------------------------------

  private static Stage runtime() {
    return STAGES.get(STAGES.size() - 1);
  }

  static List<Stage> stages(String dockerfile) {
    List<Stage> stages = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (String line : dockerfile.split("\n", -1)) {
      String trimmed = line.strip();
      if (trimmed.startsWith("#") || (trimmed.isEmpty() && pending.isEmpty())) {
        continue;
      }
      if (trimmed.endsWith("\\")) {
        pending.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      pending.append(trimmed);
      String instruction = pending.toString().strip();
      pending.setLength(0);
      if (instruction.isEmpty()) {
        continue;
      }
      String[] split = instruction.split("\\s+", 2);
      Instruction i =
          new Instruction(
              split[0].toUpperCase(Locale.ROOT), split.length > 1 ? split[1].strip() : "");
      if (i.keyword().equals("FROM")) {
        String[] from = i.args().split("\\s+");
        String name = from.length == 3 && from[1].equalsIgnoreCase("AS") ? from[2] : null;
        assertThat(from.length == 1 || name != null).as("FROM %s", i.args()).isTrue();
        stages.add(new Stage(from[0], name, new ArrayList<>()));
      } else {
        assertThat(stages).as("%s before any FROM", i.keyword()).isNotEmpty();
        stages.get(stages.size() - 1).instructions().add(i);
      }
    }
    assertThat(pending.toString()).as("a continued line at the end").isBlank();
    return stages;
  }

  /** The Java feature release an image tag names: "21.0.8_9-jre-noble", "…-eclipse-temurin-21". */
  static int javaMajor(String image) {
    String tag = image.substring(image.lastIndexOf(':') + 1).replaceAll("@.*", "");
    Matcher temurin = Pattern.compile("temurin-(\\d+)").matcher(tag);
    if (temurin.find()) {
      return Integer.parseInt(temurin.group(1));
    }
    Matcher leading = Pattern.compile("^(\\d+)").matcher(tag);
    assertThat(leading.find()).as("a Java version in %s", image).isTrue();
    return Integer.parseInt(leading.group(1));
  }

  /**
   * Whether Docker leaves {@code file} out of the context: the last pattern that matches the file
   * or one of its parent directories decides, a leading "!" re-including (moby's patternmatcher).
   */
  static boolean ignored(List<String> patterns, String file) {
    boolean ignored = false;
    for (String raw : patterns) {
      boolean negate = raw.startsWith("!");
      String pattern =
          (negate ? raw.substring(1) : raw).replaceAll("^/+", "").replaceAll("/+$", "");
      Pattern regex = Pattern.compile(globToRegex(pattern));
      String candidate = file;
      boolean matched = false;
      while (true) {
        if (regex.matcher(candidate).matches()) {
          matched = true;
          break;
        }
        int slash = candidate.lastIndexOf('/');
        if (slash < 0) {
          break;
        }
        candidate = candidate.substring(0, slash);
      }
      if (matched) {
        ignored = !negate;
      }
    }
    return ignored;
  }

  private static String globToRegex(String glob) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (glob.startsWith("**/", i)) {
        out.append("(.*/)?");
        i += 2;
      } else if (glob.startsWith("**", i)) {
        out.append(".*");
        i++;
      } else if (c == '*') {
        out.append("[^/]*");
      } else if (c == '?') {
        out.append("[^/]");
      } else {
        out.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return out.toString();
  }

  private static String match(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as("%s in the text", regex).isTrue();
    return m.group(1);
  }
}
