package dev.chat.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.ServerFrames.MessageTemplate;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A message template")
class MessageTemplateTest {

  static final List<String> TRICKY =
      List.of(
          "",
          "plain",
          "\"",
          "\\",
          "\\\"",
          "\"seq\":",
          "},{",
          "\n\r\t\b\f",
          "\u0000\u0001\u001f\u007f\u0080\u009f",
          "</script><script>alert(1)</script>",
          "\u2028\u2029",
          "\u00e9\u674e\u0663",
          "\uD83D\uDE00\uD83D\uDC4D\uD83C\uDFFD",
          "\uD835\uDC9C",
          "lone \uD800 high",
          "lone \uDC00 low",
          "\uDBFF\uDFFF",
          "\uFFFF\uFEFF",
          "x".repeat(5000),
          "\uD83D\uDE00".repeat(4000));

  static final long[] NUMBERS = {0, 1, 58, 1732350000000L, Long.MAX_VALUE};

  static void assertSplicesToMessage(
      String room, String id, String from, String text, String to, long seq, long ts) {
    MessageTemplate template = ServerFrames.messageTemplate(room, id, from, text, to);
    byte[] message = ServerFrames.message(room, seq, id, from, text, to, ts);
    assertThat(template.head()).endsWith("\"seq\":");
    assertThat(template.mid()).startsWith(",\"id\":").endsWith(",\"ts\":");
    assertThat(splice(template, seq, ts)).isEqualTo(new String(message, UTF_8));
  }

  /** What publish.lua stores and publishes: the template with the seq and ts it assigned. */
  static String splice(MessageTemplate template, long seq, long ts) {
    return template.head() + seq + template.mid() + ts + "}";
  }

  @Test
  @DisplayName(
      "splices seq and ts into exactly the bytes of the message frame, for tricky strings in every field")
  void splicesTrickyStrings() {
    for (String text : TRICKY) {
      for (String other : TRICKY) {
        assertSplicesToMessage("general", other, "alice", text, null, 58, 1732350000000L);
        assertSplicesToMessage(other, "k1", other, text, other, 1, 2);
      }
    }
    for (long seq : NUMBERS) {
      for (long ts : NUMBERS) {
        assertSplicesToMessage("@bob", "k", "alice", "hi", "bob", seq, ts);
      }
    }
  }

  @Test
  @DisplayName("splices random strings, surrogate halves included, into the message frame")
  void splicesRandomStrings() {
    Random random = new Random(7);
    for (int i = 0; i < 2000; i++) {
      String text = randomString(random);
      assertSplicesToMessage(
          randomString(random),
          randomString(random),
          randomString(random),
          text,
          random.nextBoolean() ? null : randomString(random),
          random.nextLong() >>> 1,
          random.nextLong() >>> 1);
    }
  }

  @Test
  @DisplayName("renders a frame that parses back to the same message")
  void rendersValidJson() {
    String text = "say \"hi\" \\ \uD83D\uDE00 </script>\n";
    JsonObject json =
        new JsonObject(
            splice(
                ServerFrames.messageTemplate("@alice", "k2", "alice", text, "bob"),
                3,
                1732350000000L));
    assertThat(json)
        .isEqualTo(
            new JsonObject()
                .put("type", "message")
                .put("room", "@alice")
                .put("seq", 3)
                .put("id", "k2")
                .put("from", "alice")
                .put("text", text)
                .put("to", "bob")
                .put("ts", 1732350000000L));
  }

  static String randomString(Random random) {
    char[] alphabet = {
      'a', 'Z', '0', ' ', '"', '\\', '/', '<', '>', '\n', '\u0000', '\u001f', '\u007f', '\u00e9',
      '\u2028', '\uFFFF', '\uD83D', '\uDE00', '\uD800', '\uDFFF'
    };
    StringBuilder s = new StringBuilder();
    for (int n = random.nextInt(40); n > 0; n--) {
      s.append(alphabet[random.nextInt(alphabet.length)]);
    }
    return s.toString();
  }
}
