package dev.chat.protocol;

import static dev.chat.protocol.ClientCodecTest.EMOJI;
import static dev.chat.protocol.ClientCodecTest.decode;
import static dev.chat.protocol.ClientCodecTest.sendJson;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.Decoded.Invalid;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@DisplayName("The client codec, field by field")
class ClientCodecFieldTest {

  static final String ROOM = "room must be 1-64 characters of A-Z a-z 0-9 _ . - or @<user>";
  static final String ID = "id must be 1-64 characters with no control characters";
  static final String EPOCH = "epoch must be 1-64 characters with no control characters";
  static final String TO = "to must be a valid user id";
  static final String BLANK = "text must not be blank";
  static final String LONG = "text must be at most 4000 characters";
  static final String SINCE = "since must be a non-negative integer";
  static final String SEQ = "seq must be a non-negative integer";

  static Stream<Arguments> badFields() {
    return Stream.of(
        // join: room, epoch, since
        bad("{'type':'join'}", "room is required"),
        bad("{'type':'join','room':null}", "room is required"),
        bad("{'type':'join','room':5}", "room must be a string"),
        bad("{'type':'join','room':['general']}", "room must be a string"),
        bad("{'type':'join','room':''}", ROOM),
        bad("{'type':'join','room':'" + "r".repeat(65) + "'}", ROOM),
        bad("{'type':'join','room':'gen eral'}", ROOM),
        bad("{'type':'join','room':'g\u00e9n\u00e9ral'}", ROOM),
        bad("{'type':'join','room':'a/b'}", ROOM),
        bad("{'type':'join','room':'#general'}", ROOM),
        bad("{'type':'join','room':'@'}", ROOM),
        bad("{'type':'join','room':'@@alice'}", ROOM),
        bad("{'type':'join','room':'@bad user'}", ROOM),
        bad("{'type':'join','room':'@" + EMOJI + "'}", ROOM),
        bad("{'type':'join','room':'@" + "a".repeat(33) + "'}", ROOM),
        bad("{'type':'join','room':'g','epoch':''}", EPOCH),
        bad("{'type':'join','room':'g','epoch':'" + "e".repeat(65) + "'}", EPOCH),
        bad("{'type':'join','room':'g','epoch':'e\\n1'}", EPOCH),
        bad("{'type':'join','room':'g','epoch':7}", "epoch must be a string"),
        bad("{'type':'join','room':'g','since':-1}", SINCE),
        bad("{'type':'join','room':'g','since':1.5}", SINCE),
        bad("{'type':'join','room':'g','since':41.0}", SINCE),
        bad("{'type':'join','room':'g','since':1e3}", SINCE),
        bad("{'type':'join','room':'g','since':'41'}", SINCE),
        bad("{'type':'join','room':'g','since':true}", SINCE),
        bad("{'type':'join','room':'g','since':[41]}", SINCE),
        bad("{'type':'join','room':'g','since':{'n':41}}", SINCE),
        bad("{'type':'join','room':'g','since':9223372036854775808}", SINCE),
        bad("{'type':'join','room':'g','since':99999999999999999999999}", SINCE),
        bad("{'type':'join','room':'g','since':-9223372036854775809}", SINCE),
        // leave
        bad("{'type':'leave'}", "room is required"),
        bad("{'type':'leave','room':'no spaces'}", ROOM),
        // send: room, id, text
        bad("{'type':'send','id':'k','text':'hi'}", "room is required"),
        bad("{'type':'send','room':'r','text':'hi'}", "id is required"),
        bad("{'type':'send','room':'r','id':'k'}", "text is required"),
        bad("{'type':'send','room':'r','id':12,'text':'hi'}", "id must be a string"),
        bad("{'type':'send','room':'r','id':'','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'" + "k".repeat(65) + "','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'" + EMOJI.repeat(65) + "','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k\\u0000','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k\\u007f','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k\\u0085','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k\\ud800','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k\\udbff','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'\\udc00k','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k\\udfff','text':'hi'}", ID),
        bad("{'type':'send','room':'r','id':'k','text':5}", "text must be a string"),
        bad("{'type':'send','room':'r','id':'k','text':['hi']}", "text must be a string"),
        // dm: to, id, text
        bad("{'type':'dm','id':'k','text':'hi'}", "to is required"),
        bad("{'type':'dm','to':'','id':'k','text':'hi'}", TO),
        bad("{'type':'dm','to':'bad user','id':'k','text':'hi'}", TO),
        bad("{'type':'dm','to':'@bob','id':'k','text':'hi'}", TO),
        bad("{'type':'dm','to':'" + "b".repeat(33) + "','id':'k','text':'hi'}", TO),
        bad("{'type':'dm','to':42,'id':'k','text':'hi'}", "to must be a string"),
        bad("{'type':'dm','to':'bob','id':'k','text':' '}", BLANK),
        // ack: room, seq
        bad("{'type':'ack','seq':1}", "room is required"),
        bad("{'type':'ack','room':'r'}", "seq is required"),
        bad("{'type':'ack','room':'r','seq':null}", "seq is required"),
        bad("{'type':'ack','room':'r','seq':-1}", SEQ),
        bad("{'type':'ack','room':'r','seq':58.5}", SEQ),
        bad("{'type':'ack','room':'r','seq':'58'}", SEQ),
        bad("{'type':'ack','room':'r','seq':18446744073709551616}", SEQ),
        bad("{'type':'ack','room':'bad room','seq':1}", ROOM));
  }

  static Arguments bad(String json, String message) {
    return Arguments.of(json, message);
  }

  @ParameterizedTest(name = "[{index}] {0} -> {1}")
  @MethodSource("badFields")
  @DisplayName("rejects each missing, mistyped or out-of-range field with a message naming it")
  void rejectsBadField(String json, String message) {
    assertThat(decode(json))
        .isEqualTo(new Invalid(message, json.contains("'id':'k'") ? "k" : null));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("blankTexts")
  @DisplayName("rejects text made only of whitespace, Unicode spaces included")
  void rejectsBlankText(String text) {
    assertThat(dc(sendJson("r", "k", text))).isEqualTo(new Invalid(BLANK, "k"));
  }

  static Stream<String> blankTexts() {
    return Stream.of(
        "", " ", "   ", "\\t", "\\n\\r", "\u00a0", "\u2003\u3000", "\u2028", "\u202f \\t");
  }

  @Test
  @DisplayName("rejects text one code point over 4000, with emoji counted as one")
  void rejectsLongText() {
    assertThat(dc(sendJson("r", "k", "x".repeat(4001)))).isEqualTo(new Invalid(LONG, "k"));
    assertThat(dc(sendJson("r", "k", EMOJI.repeat(4001)))).isEqualTo(new Invalid(LONG, "k"));
    assertThat(dc(sendJson("r", "k", "x" + EMOJI.repeat(4000)))).isEqualTo(new Invalid(LONG, "k"));
    assertThat(dc(sendJson("r", "k", "x".repeat(100_000)))).isEqualTo(new Invalid(LONG, "k"));
  }

  @Test
  @DisplayName("echoes the id of a rejected send or dm only when that id is itself valid")
  void echoesValidIds() {
    assertThat(decode("{'type':'send','id':'k3v9-0003','room':'r','text':'  '}"))
        .isEqualTo(new Invalid(BLANK, "k3v9-0003"));
    assertThat(decode("{'type':'send','id':'k3v9-0003','room':'bad room','text':''}"))
        .isEqualTo(new Invalid(ROOM, "k3v9-0003"));
    assertThat(decode("{'type':'dm','id':'" + EMOJI + "','to':'@bob','text':'hi'}"))
        .isEqualTo(new Invalid(TO, EMOJI));
    assertThat(decode("{'type':'send','id':'','room':'r','text':''}"))
        .isEqualTo(new Invalid(ID, null));
    assertThat(decode("{'type':'dm','id':7,'to':'bob','text':'hi'}"))
        .isEqualTo(new Invalid("id must be a string", null));
    assertThat(decode("{'type':'ack','id':'k','room':'r'}"))
        .isEqualTo(new Invalid("seq is required", null));
    assertThat(decode("{'type':'join','id':'k'}")).isEqualTo(new Invalid("room is required", null));
    assertThat(decode("{'type':'nope','id':'k'}"))
        .isEqualTo(new Invalid("unknown type: nope", null));
  }

  @Test
  @DisplayName("reports the first bad field in the contract's order")
  void reportsFirstProblem() {
    assertThat(decode("{'type':'send','text':'','id':'','room':''}"))
        .isEqualTo(new Invalid(ROOM, null));
    assertThat(decode("{'type':'send','text':'','id':'','room':'r'}"))
        .isEqualTo(new Invalid(ID, null));
    assertThat(decode("{'type':'dm','text':'','id':'k'}"))
        .isEqualTo(new Invalid("to is required", "k"));
  }

  @Test
  @DisplayName("lets the last of duplicated fields win, as JavaScript's JSON.parse does")
  void lastDuplicateWins() {
    assertThat(decode("{'type':'ack','room':'r','seq':-1,'seq':2}"))
        .isEqualTo(new Decoded.Parsed(new ClientFrame.Ack("r", 2)));
  }

  private static Decoded dc(String json) {
    return ClientCodec.decode(json);
  }
}
