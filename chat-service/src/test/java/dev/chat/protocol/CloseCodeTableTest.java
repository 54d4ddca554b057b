package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The close-code table of docs/protocol.md is the one source of truth: the {@link CloseCode} enum
 * (what the service sends, and whether it advises a reconnect) and chat-client.js's {@code
 * closePolicy} table (what the client library does) must both say what it says. Both files are read
 * as text, so the check needs no browser and no node.
 */
@DisplayName("The close-code table of docs/protocol.md")
class CloseCodeTableTest {

  /** The client library's policies that do not reconnect; every other one does. */
  private static final Set<String> NOT_RECONNECTING = Set.of("stop", "disconnected");

  private static final Pattern ADVICE = Pattern.compile("^(yes|no)\\b.*\\(`(\\w+)`\\)$");

  /** One row: {@code code} is null for the last row, "other", any code not listed. */
  private record Row(Integer code, List<String> names, boolean reconnects, String policy) {}

  private static List<Row> rows;
  private static Map<Integer, String> jsPolicies;
  private static String jsDefault;

  @BeforeAll
  static void read() {
    rows = docRows(readRepoFile("docs/protocol.md"));
    String js = readResource("/webroot/chat-client.js");
    jsPolicies = jsTable(js);
    jsDefault = match(js, "const DEFAULT_CLOSE_POLICY = '(\\w+)';").group(1);
  }

  @Test
  @DisplayName("lists each code once, ends with the row for any other code, and says yes or no")
  void wellFormed() {
    List<Integer> codes = rows.stream().map(Row::code).toList();
    assertThat(codes).hasSizeGreaterThan(10).doesNotHaveDuplicates();
    assertThat(codes.get(codes.size() - 1)).as("the last row is 'other'").isNull();
    assertThat(codes.subList(0, codes.size() - 1)).doesNotContainNull().isSorted();
    assertThat(rows)
        .allSatisfy(
            r ->
                assertThat(r.reconnects())
                    .as(
                        "close %s: reconnects exactly when its policy %s does",
                        r.code(), r.policy())
                    .isEqualTo(!NOT_RECONNECTING.contains(r.policy())));
  }

  @Test
  @DisplayName("names every CloseCode constant in the row of its code, with the same advice")
  void matchesTheEnum() {
    Map<String, Row> byName = new LinkedHashMap<>();
    rows.forEach(r -> r.names().forEach(n -> assertThat(byName.put(n, r)).as(n).isNull()));
    assertThat(byName.keySet())
        .as("the names in the table")
        .containsExactlyInAnyOrderElementsOf(
            Arrays.stream(CloseCode.values()).map(Enum::name).toList());
    for (CloseCode c : CloseCode.values()) {
      Row row = byName.get(c.name());
      assertThat(row.code()).as("code of %s", c).isEqualTo((int) c.code());
      assertThat(c.reconnect()).as("reconnect() of %s", c).isEqualTo(row.reconnects());
    }
    Set<Integer> sent =
        Arrays.stream(CloseCode.values()).map(c -> (int) c.code()).collect(Collectors.toSet());
    assertThat(rows.stream().filter(r -> r.names().isEmpty() && r.code() != null))
        .as("rows without a name are codes the service never sends")
        .allSatisfy(r -> assertThat(sent).doesNotContain(r.code()));
  }

  @Test
  @DisplayName("is what chat-client.js's closePolicy table does, code by code")
  void matchesTheClientLibrary() {
    Map<Integer, String> documented = new LinkedHashMap<>();
    for (Row r : rows) {
      if (r.code() == null) {
        assertThat(jsDefault).as("policy for any other code").isEqualTo(r.policy());
      } else {
        documented.put(r.code(), r.policy());
        assertThat(jsPolicies.getOrDefault(r.code(), jsDefault))
            .as("closePolicy(%d)", r.code())
            .isEqualTo(r.policy());
      }
    }
    assertThat(documented.keySet())
        .as("codes chat-client.js handles apart from the default")
        .containsAll(jsPolicies.keySet());
  }

  /** The rows of the table under "### Close codes". */
  private static List<Row> docRows(String markdown) {
    String section = markdown.substring(markdown.indexOf("### Close codes"));
    int header = section.indexOf("| code | name | meaning | client reconnects? |");
    assertThat(header).as("the table's header").isPositive();
    List<Row> rows = new ArrayList<>();
    List<String> lines = section.substring(header).lines().skip(2).toList();
    for (String line : lines) {
      if (!line.startsWith("|")) {
        break;
      }
      String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
      assertThat(cells).as(line).hasSize(4);
      String code = cells[0].strip();
      String names = cells[1].strip();
      Matcher advice = ADVICE.matcher(cells[3].strip());
      assertThat(advice.matches()).as("'yes …' or 'no …' ending in (`policy`): %s", line).isTrue();
      rows.add(
          new Row(
              code.equals("other") ? null : Integer.valueOf(code),
              names.equals("—")
                  ? List.of()
                  : Arrays.stream(names.split(",")).map(n -> n.strip().replace("`", "")).toList(),
              advice.group(1).equals("yes"),
              advice.group(2)));
    }
    return rows;
  }

  /**
   * The entries of {@code CLOSE_POLICIES}; {@code closePolicy} must be nothing but a lookup in it,
   * so that no code is special-cased outside the table.
   */
  private static Map<Integer, String> jsTable(String js) {
    match(
        js,
        "export function closePolicy\\(code\\) \\{\\s*return Object\\.hasOwn\\(CLOSE_POLICIES, code\\)"
            + " \\? CLOSE_POLICIES\\[code\\] : DEFAULT_CLOSE_POLICY;\\s*\\}");
    String body =
        match(js, "(?s)const CLOSE_POLICIES = Object\\.freeze\\(\\{\\n(.*?)\\n\\}\\);").group(1);
    Map<Integer, String> table = new LinkedHashMap<>();
    Pattern entry = Pattern.compile("\\s*(\\d+): '(\\w+)',");
    for (String line : body.lines().toList()) {
      Matcher m = entry.matcher(line);
      assertThat(m.matches()).as("an entry 'code: policy,': %s", line).isTrue();
      assertThat(table.put(Integer.valueOf(m.group(1)), m.group(2))).as(line).isNull();
    }
    return table;
  }

  private static Matcher match(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as("chat-client.js has /%s/", regex).isTrue();
    return m;
  }

  private static String readResource(String name) {
    try (InputStream in = CloseCodeTableTest.class.getResourceAsStream(name)) {
      assertThat(in).as(name + " on the class path").isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A file of the repository, found above wherever the tests run (Maven: chat-service/). */
  private static String readRepoFile(String relative) {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path file = d.resolve(relative);
      if (Files.isRegularFile(file) && Files.isDirectory(d.resolve("chat-service"))) {
        try {
          return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
    throw new IllegalStateException(relative + " not found above " + Path.of("").toAbsolutePath());
  }
}
