package dev.chat.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AckCadenceTest {
  private static final Path CLIENT_JS =
      Path.of("../chat-service/src/main/resources/webroot/chat-client.js");

  /** The {@code DEFAULTS = Object.freeze({...})} block of chat-client.js. */
  private static String defaultsBlock() throws Exception {
    String js = Files.readString(CLIENT_JS);
    Matcher m =
        Pattern.compile("const DEFAULTS = Object\\.freeze\\(\\{(.*?)\\}\\);", Pattern.DOTALL)
            .matcher(js);
    assertThat(m.find()).as("chat-client.js declares its DEFAULTS").isTrue();
    return m.group(1);
  }

  private static long jsNumber(String block, String key) {
    Matcher m = Pattern.compile("\\b" + key + ":\\s*([0-9_]+)\\s*,").matcher(block);
    assertThat(m.find()).as("chat-client.js's DEFAULTS has " + key).isTrue();
    return Long.parseLong(m.group(1).replace("_", ""));
  }

  @Test
  @DisplayName("chat-bench's clients ack with chat-client.js's default ackDelayMs and ackEvery")
  void sameAsChatClientJs() throws Exception {
    String block = defaultsBlock();
    assertThat(AckCadence.CHAT_CLIENT_JS.delayMs()).isEqualTo(jsNumber(block, "ackDelayMs"));
    assertThat(AckCadence.CHAT_CLIENT_JS.every()).isEqualTo(jsNumber(block, "ackEvery"));
    assertThat(AckCadence.of(new Options(new String[] {"smoke"})))
        .isEqualTo(AckCadence.CHAT_CLIENT_JS);
  }

  @Test
  @DisplayName("chat-bench's clients retry after unavailable as late as chat-client.js does")
  void retryUnavailableAsChatClientJs() throws Exception {
    assertThat(Client.RETRY_UNAVAILABLE_MS)
        .isEqualTo(jsNumber(defaultsBlock(), "retryUnavailableMs"));
  }

  @Test
  @DisplayName("chat-client.js acks on a count, on a timer and again on a redelivery, as modelled")
  void chatClientJsStillWorksThatWay() throws Exception {
    // The cadence above only means something if chat-client.js still uses the two settings the
    // way Client does: flush on the ackEvery-th delivery, else one ackDelayMs timer, and a
    // redelivery scheduled like a new message.
    String js = Files.readString(CLIENT_JS);
    assertThat(js)
        .contains("if (++this.#unacked >= this.#opts.ackEvery) {")
        .contains("setTimeout(() => this.#flushAcks(), this.#opts.ackDelayMs)")
        .containsPattern(
            "if \\(f\\.seq <= state\\.seq\\) \\{\\s*this\\.#scheduleAck\\(f\\.room\\);");
  }
}
