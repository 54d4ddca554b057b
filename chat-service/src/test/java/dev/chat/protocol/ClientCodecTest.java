package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.ClientFrame.Ack;
import dev.chat.protocol.ClientFrame.Dm;
import dev.chat.protocol.ClientFrame.Join;
import dev.chat.protocol.ClientFrame.Leave;
import dev.chat.protocol.ClientFrame.Ping;
import dev.chat.protocol.ClientFrame.Send;
import dev.chat.protocol.Decoded.Invalid;
import dev.chat.protocol.Decoded.Parsed;
import dev.chat.session.MessageReader;
import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("The client codec")
class ClientCodecTest {

  static final String EMOJI = "\uD83D\uDE00";

  /** Test frames use single quotes for readability; the codec sees double quotes. */
  static String q(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  static Decoded decode(String singleQuoted) {
    return ClientCodec.decode(q(singleQuoted));
  }

  /**
   * What a text message's bytes become on a socket: the socket's reader refuses what is not UTF-8
   * (a {@link CloseCode}), the codec decodes the rest (a {@link Decoded}).
   */
  static Object fromWire(byte[] bytes) {
    Object[] outcome = new Object[1];
    new MessageReader(
            65_536,
            false,
            new MessageReader.Handler() {
              @Override
              public void text(String message) {
                outcome[0] = ClientCodec.decode(message);
              }

              @Override
              public void binary(Buffer message) {
                throw new AssertionError("a text frame came out binary");
              }

              @Override
              public void refuse(CloseCode code) {
                outcome[0] = code;
              }
            })
        .onFrame(
            new WebSocketFrameImpl(WebSocketFrameType.TEXT, Unpooled.wrappedBuffer(bytes), true));
    return outcome[0];
  }

  static ClientFrame parsed(String singleQuoted) {
    Decoded decoded = decode(singleQuoted);
    assertThat(decoded).isInstanceOf(Parsed.class);
    return ((Parsed) decoded).frame();
  }

  static Stream<Arguments> validFrames() {
    return Stream.of(
        Arguments.of("{'type':'join','room':'general'}", new Join("general", null, null)),
        Arguments.of(
            "{'type':'join','room':'general','epoch':'e-4f1a','since':41}",
            new Join("general", "e-4f1a", 41L)),
        Arguments.of("{'type':'join','room':'@alice'}", new Join("@alice", null, null)),
        Arguments.of(
            "{'type':'join','room':'g','epoch':null,'since':null}", new Join("g", null, null)),
        Arguments.of("{'type':'join','room':'g','since':0}", new Join("g", null, 0L)),
        Arguments.of(
            "{'type':'join','room':'g','since':9223372036854775807}",
            new Join("g", null, Long.MAX_VALUE)),
        Arguments.of("{'type':'leave','room':'general'}", new Leave("general")),
        Arguments.of(
            "{'type':'send','room':'general','id':'k3v9-0001','text':'hello'}",
            new Send("general", "k3v9-0001", "hello")),
        Arguments.of(
            "{'type':'dm','to':'bob','id':'k3v9-0002','text':'hi bob'}",
            new Dm("bob", "k3v9-0002", "hi bob")),
        Arguments.of("{'type':'ack','room':'general','seq':58}", new Ack("general", 58)),
        Arguments.of("{'type':'ack','room':'@bob','seq':0}", new Ack("@bob", 0)),
        Arguments.of("{'type':'ping'}", new Ping()),
        Arguments.of(
            "{'room':'general','text':'hello','id':'x','type':'send'}",
            new Send("general", "x", "hello")),
        Arguments.of(" \n{ 'type' : 'ping' }\t ", new Ping()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validFrames")
  @DisplayName("parses every valid frame into its record")
  void parsesValidFrames(String json, ClientFrame expected) {
    assertThat(parsed(json)).isEqualTo(expected);
    assertThat(fromWire(q(json).getBytes(StandardCharsets.UTF_8))).isEqualTo(new Parsed(expected));
  }

  @Test
  @DisplayName("keeps unicode and escapes in text exactly")
  void keepsTextExactly() {
    String text = "h\u00e9llo \"w\u00f6rld\" \\ " + EMOJI + " \u674e\n</script>";
    String json =
        "{\"type\":\"send\",\"room\":\"r\",\"id\":\"i\",\"text\":"
            + "\"h\u00e9llo \\\"w\\u00f6rld\\\" \\\\ \\ud83d\\ude00 \u674e\\n</script>\"}";
    assertThat(ClientCodec.decode(json)).isEqualTo(new Parsed(new Send("r", "i", text)));
    assertThat(fromWire(json.getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(new Parsed(new Send("r", "i", text)));
  }

  @Test
  @DisplayName("ignores unknown fields, however deeply nested their junk")
  void skipsUnknownFields() {
    String junk = "[{'a':".repeat(200) + "null" + "}]".repeat(200);
    assertThat(
            parsed(
                "{'x':"
                    + junk
                    + ",'type':'ack','room':'r','y':{'seq':-1},'seq':3,'z':[1,2.5,'s',true]}"))
        .isEqualTo(new Ack("r", 3));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(
      strings = {
        "",
        "   ",
        "{",
        "}",
        "not json",
        "[]",
        "[{'type':'ping'}]",
        "'ping'",
        "42",
        "null",
        "true",
        "{'type':'ping'} {}",
        "{'type':'ping'}x",
        "{'type':'ping',}",
        "{type:'ping'}",
        "{'type':'ping' 'room':'r'}",
        "{'type':'ping','n':NaN}",
        "{'type':'ping','n':01}",
        "{'type':'ping','n':.5}",
        "{'type':'ping'",
        "{'type':'pi\u0001ng'}"
      })
  @DisplayName("rejects anything that is not one JSON object as malformed")
  void rejectsMalformed(String json) {
    assertThat(decode(json)).isEqualTo(new Invalid("malformed JSON", null));
    assertThat(fromWire(q(json).getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(new Invalid("malformed JSON", null));
  }

  @Test
  @DisplayName("rejects null input, hostile nesting and endless numbers without throwing")
  void rejectsHostileInput() {
    Invalid malformed = new Invalid("malformed JSON", null);
    assertThat(ClientCodec.decode((String) null)).isEqualTo(malformed);
    assertThat(decode("{'type':'ping','x':" + "[".repeat(100_000) + "]".repeat(100_000) + "}"))
        .isEqualTo(malformed);
    assertThat(decode("{'type':'ping','x':" + "[".repeat(100_000))).isEqualTo(malformed);
    assertThat(decode("{'type':'ack','room':'r','seq':" + "9".repeat(5000) + "}"))
        .isEqualTo(malformed);
  }

  @Test
  @DisplayName(
      "accepts only UTF-8 bytes: UTF-16 is malformed JSON, a byte-order mark or a broken sequence"
          + " closes with 1007")
  void acceptsOnlyUtf8() {
    Invalid malformed = new Invalid("malformed JSON", null);
    String ping = "{\"type\":\"ping\"}";
    // Without a byte-order mark, UTF-16 of ASCII is valid UTF-8 full of NULs: not JSON.
    assertThat(fromWire(ping.getBytes(StandardCharsets.UTF_16LE))).isEqualTo(malformed);
    assertThat(fromWire(ping.getBytes(StandardCharsets.UTF_16BE))).isEqualTo(malformed);
    assertThat(fromWire(ping.getBytes(StandardCharsets.UTF_16))).isEqualTo(CloseCode.INVALID_UTF8);
    byte[] broken =
        q("{'type':'send','room':'r','id':'i','text':'a?'}").getBytes(StandardCharsets.UTF_8);
    broken[broken.length - 3] = (byte) 0xC3; // a lead byte followed by an ASCII quote
    assertThat(fromWire(broken)).isEqualTo(CloseCode.INVALID_UTF8);
    assertThat(fromWire(new byte[0])).isEqualTo(malformed);
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(
      strings = {
        "{}",
        "{'type':null}",
        "{'type':1}",
        "{'type':true}",
        "{'type':{'t':'ping'}}",
        "{'type':['ping']}",
        "{'room':'general'}"
      })
  @DisplayName("rejects a frame without a string type")
  void rejectsMissingType(String json) {
    assertThat(decode(json)).isEqualTo(new Invalid("missing type", null));
  }

  @Test
  @DisplayName("names an unknown type, cut to 32 characters without splitting an emoji")
  void rejectsUnknownType() {
    assertThat(decode("{'type':'JOIN','room':'r'}"))
        .isEqualTo(new Invalid("unknown type: JOIN", null));
    assertThat(decode("{'type':'','room':'r'}")).isEqualTo(new Invalid("unknown type: ", null));
    assertThat(decode("{'type':'pong'}")).isEqualTo(new Invalid("unknown type: pong", null));
    assertThat(decode("{'type':'" + "x".repeat(40) + "'}"))
        .isEqualTo(new Invalid("unknown type: " + "x".repeat(32), null));
    assertThat(decode("{'type':'" + "x".repeat(33) + "'}"))
        .isEqualTo(new Invalid("unknown type: " + "x".repeat(32), null));
    assertThat(decode("{'type':'" + "x".repeat(32) + "'}"))
        .isEqualTo(new Invalid("unknown type: " + "x".repeat(32), null));
    // 40 chars but 20 code points: short enough to echo whole
    assertThat(decode("{'type':'" + EMOJI.repeat(20) + "'}"))
        .isEqualTo(new Invalid("unknown type: " + EMOJI.repeat(20), null));
    assertThat(decode("{'type':'" + "x".repeat(31) + EMOJI.repeat(3) + "','id':'k'}"))
        .isEqualTo(new Invalid("unknown type: " + "x".repeat(31) + EMOJI, null));
  }

  @Test
  @DisplayName("accepts text and ids at their exact limits, counted in code points")
  void acceptsLimits() {
    String id = EMOJI.repeat(64);
    for (String text :
        new String[] {
          "x".repeat(4000),
          EMOJI.repeat(4000),
          "x".repeat(2000) + EMOJI.repeat(2000),
          " x ",
          "\u00a0x",
          "tab\tand new\nline"
        }) {
      assertThat(
              ClientCodec.decode(
                  sendJson("r".repeat(64), id, text.replace("\t", "\\t").replace("\n", "\\n"))))
          .isEqualTo(new Parsed(new Send("r".repeat(64), id, text)));
    }
    assertThat(decode("{'type':'send','room':'r','id':'i','text':'a\\u0000b'}"))
        .isEqualTo(new Parsed(new Send("r", "i", "a\u0000b")));
  }

  @Test
  @DisplayName("never throws, whatever prefix or mutation of a valid frame it gets")
  void neverThrows() {
    String valid =
        q("{'type':'join','room':'@al\u00efce','epoch':'e-1','since':41,'x':[{'y':[1.5e3]}]}");
    for (int end = 0; end < valid.length(); end++) {
      assertThat(ClientCodec.decode(valid.substring(0, end))).isInstanceOf(Invalid.class);
    }
    Random random = new Random(42);
    byte[] bytes = valid.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < 20_000; i++) {
      byte[] mutated = bytes.clone();
      for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
        mutated[random.nextInt(mutated.length)] = (byte) random.nextInt(256);
      }
      assertThat(fromWire(mutated)).isNotNull();
      assertThat(ClientCodec.decode(new String(mutated, StandardCharsets.ISO_8859_1))).isNotNull();
    }
  }

  static String sendJson(String room, String id, String text) {
    return "{\"type\":\"send\",\"room\":\""
        + room
        + "\",\"id\":\""
        + id
        + "\",\"text\":\""
        + text
        + "\"}";
  }
}
