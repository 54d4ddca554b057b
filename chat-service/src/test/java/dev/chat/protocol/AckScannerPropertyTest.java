package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.ClientFrame.Ack;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * The ack fast path and Jackson agree: on the exact shape chat-client.js sends and on every near
 * miss of it, {@link ClientCodec#decode(String)} gives what the Jackson path alone gives.
 */
@Label("The ack scanner")
class AckScannerPropertyTest {

  @Property(tries = 5000)
  @Label("returns the parser's ack for every frame it accepts, and decode agrees with Jackson")
  void agreesWithJackson(@ForAll("acks") String json) {
    Ack fast = AckScanner.scan(json);
    Decoded jackson = ClientCodec.parseWithJackson(json);
    if (fast != null) {
      assertThat(jackson).isEqualTo(new Decoded.Parsed(fast));
    }
    assertThat(ClientCodec.decode(json)).isEqualTo(jackson);
    Statistics.collect(fast != null ? "scanned" : "fell back");
    // both sides must be exercised for the agreement to mean anything
    Statistics.coverage(
        c -> {
          c.check("scanned").percentage(p -> p > 15);
          c.check("fell back").percentage(p -> p > 15);
        });
  }

  @Property(tries = 1000)
  @Label("agrees with Jackson on any string at all")
  void anyString(@ForAll String json) {
    Ack fast = AckScanner.scan(json);
    if (fast != null) {
      assertThat(ClientCodec.parseWithJackson(json)).isEqualTo(new Decoded.Parsed(fast));
    }
  }

  @Property(tries = 200)
  @Label("takes the fast path for every valid room and seq in the exact shape")
  void exactShapeIsScanned(@ForAll("validRooms") String room, @ForAll("validSeqs") long seq) {
    String json = "{\"type\":\"ack\",\"room\":\"" + room + "\",\"seq\":" + seq + "}";
    assertThat(AckScanner.scan(json)).isEqualTo(new Ack(room, seq));
  }

  @Provide
  Arbitrary<String> acks() {
    Arbitrary<String> exact =
        Combinators.combine(rooms(), seqs())
            .as((room, seq) -> "{\"type\":\"ack\",\"room\":\"" + room + "\",\"seq\":" + seq + "}");
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(3, exact), net.jqwik.api.Tuple.of(2, exact.flatMap(this::damage)));
  }

  @Provide
  Arbitrary<String> validRooms() {
    return Arbitraries.oneOf(roomNames(), inboxes()).filter(Names::isRoom);
  }

  @Provide
  Arbitrary<Long> validSeqs() {
    return Arbitraries.oneOf(
        Arbitraries.longs().between(0, Long.MAX_VALUE), Arbitraries.of(0L, Long.MAX_VALUE));
  }

  /** Valid rooms mostly, and names one rule away from valid. */
  private Arbitrary<String> rooms() {
    return Arbitraries.oneOf(
        roomNames(),
        roomNames(),
        inboxes(),
        Arbitraries.of(
            "",
            "a".repeat(65),
            "a".repeat(64),
            "a b",
            "r\\u0041",
            "r\\\"",
            "r\\\\",
            "r\\n",
            "\\u0072",
            "@",
            "@@x",
            "@a b",
            "@" + "é".repeat(64),
            "@" + "é".repeat(65),
            "\uD83D\uDE00",
            "@\uD83D\uDE00",
            "@\uD800",
            "r\u0000",
            "r\u007F",
            "rö",
            "@ö",
            "@١٢٣"));
  }

  private Arbitrary<String> roomNames() {
    return Arbitraries.strings().withChars("abcXYZ0189_.-").ofMinLength(1).ofMaxLength(66);
  }

  private Arbitrary<String> inboxes() {
    return Arbitraries.strings()
        .withChars("abz09_-.éßж漢")
        .ofMinLength(1)
        .ofMaxLength(66)
        .map(u -> "@" + u);
  }

  /** The seq as written: valid mostly, and numbers JSON or the contract refuses. */
  private Arbitrary<String> seqs() {
    return Arbitraries.oneOf(
        Arbitraries.longs().between(0, Long.MAX_VALUE).map(String::valueOf),
        Arbitraries.longs().between(0, 1000).map(String::valueOf),
        Arbitraries.of(
            "0",
            "00",
            "01",
            "007",
            "-0",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551616",
            "99999999999999999999",
            "1.0",
            "1e3",
            "1E3",
            "0x10",
            "+1",
            "\"1\"",
            "null",
            "true",
            " 1",
            "1 ",
            "",
            "１"));
  }

  /** One edit that keeps it JSON-like: whitespace, case, extra or reordered fields, truncation. */
  private Arbitrary<String> damage(String json) {
    return Arbitraries.oneOf(
        Arbitraries.integers()
            .between(0, json.length())
            .flatMap(
                i ->
                    Arbitraries.of(" ", "\n", "\t", ",", "}", "\"", "\\", "x", "0", "\u00A0")
                        .map(s -> json.substring(0, i) + s + json.substring(i))),
        Arbitraries.integers()
            .between(0, json.length() - 1)
            .map(i -> json.substring(0, i) + json.substring(i + 1)),
        Arbitraries.integers().between(0, json.length()).map(i -> json.substring(0, i)),
        Arbitraries.of(
            json.replace("\"ack\"", "\"ACK\""),
            json.replace("\"ack\"", "\"ack \""),
            json.replace("{", "{ "),
            json.replace("}", " }"),
            json + " ",
            json + "\n",
            " " + json,
            json + "{}",
            json.replace("}", ",\"extra\":1}"),
            json.replace("}", ",\"seq\":5}"),
            json.replace("}", ",\"room\":\"other\"}"),
            json.replace("{", "{\"id\":\"x\","),
            json.replace("\"type\":\"ack\",", "").replace("}", ",\"type\":\"ack\"}"),
            json.replace("\"seq\":", "\"Seq\":"),
            json.replace("\"room\":", "\"ro\\u006fm\":"),
            json.replace("\"ack\"", "\"\\u0061ck\"")));
  }
}
