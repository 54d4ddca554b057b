package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.ClientFrame.Ack;
import dev.chat.protocol.ClientFrame.Dm;
import dev.chat.protocol.ClientFrame.Join;
import dev.chat.protocol.ClientFrame.Leave;
import dev.chat.protocol.ClientFrame.Ping;
import dev.chat.protocol.ClientFrame.Send;
import dev.chat.testing.FrameArbitraries;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Random and malformed input never makes the codec throw, and whatever it accepts obeys the
 * contract's field rules: bad input can only ever become an {@code error} frame.
 */
@Label("The client codec")
class ClientCodecPropertyTest {

  @Property(tries = 1000)
  @Label("decodes any string without throwing, accepting only frames that obey the field rules")
  void anyString(@ForAll String text) {
    assertDecodes(text);
  }

  @Property(tries = 1000)
  @Label("decodes any bytes without throwing, accepting only frames that obey the field rules")
  void anyBytes(@ForAll byte[] bytes) {
    Object outcome = ClientCodecTest.fromWire(bytes);
    if (outcome instanceof Decoded decoded) {
      assertObeysRules(decoded);
    } else {
      assertThat(outcome)
          .as("what is not decoded is refused as not UTF-8")
          .isEqualTo(CloseCode.INVALID_UTF8);
    }
  }

  @Property(tries = 2000)
  @Label("decodes JSON objects of known and unknown fields with values of every JSON type")
  void jsonShapedFrames(@ForAll("frames") String json) {
    assertDecodes(json);
    Statistics.collect(ClientCodec.decode(json) instanceof Decoded.Parsed ? "accepted" : "refused");
    // the field rules above are only worth something if a fair share of frames is accepted
    Statistics.coverage(c -> c.check("accepted").percentage(p -> p > 10));
  }

  @Property(tries = 2000)
  @Label("decodes frames damaged by truncation, insertion, deletion or a flipped byte")
  void damagedFrames(@ForAll("damaged") String json) {
    assertDecodes(json);
  }

  private static void assertDecodes(String json) {
    assertObeysRules(ClientCodec.decode(json));
    // the same text as UTF-8 bytes decodes to the same verdict (unpaired surrogates have no UTF-8)
    byte[] utf8 = json.getBytes(StandardCharsets.UTF_8);
    assertObeysRules((Decoded) ClientCodecTest.fromWire(utf8));
  }

  private static void assertObeysRules(Decoded decoded) {
    assertThat(decoded).isNotNull();
    switch (decoded) {
      case Decoded.Invalid bad -> {
        assertThat(bad.message()).isNotBlank();
        if (bad.id() != null) {
          assertThat(ClientCodec.isId(bad.id())).as("echoed id %s", bad.id()).isTrue();
        }
      }
      case Decoded.Parsed parsed -> {
        switch (parsed.frame()) {
          case Join j -> {
            assertThat(Names.isRoom(j.room())).isTrue();
            assertThat(j.epoch() == null || ClientCodec.isId(j.epoch())).isTrue();
            assertThat(j.since() == null || j.since() >= 0).isTrue();
          }
          case Leave l -> assertThat(Names.isRoom(l.room())).isTrue();
          case Send s -> {
            assertThat(Names.isRoom(s.room())).isTrue();
            assertThat(ClientCodec.isId(s.id())).isTrue();
            assertText(s.text());
          }
          case Dm d -> {
            assertThat(Names.isUserId(d.to())).isTrue();
            assertThat(ClientCodec.isId(d.id())).isTrue();
            assertText(d.text());
          }
          case Ack a -> {
            assertThat(Names.isRoom(a.room())).isTrue();
            assertThat(a.seq()).isNotNegative();
          }
          case Ping p -> {
            // nothing to check
          }
          case ClientFrame.History h -> {
            assertThat(Names.isRoom(h.room())).isTrue();
            assertThat(h.limit()).isBetween(1, ClientCodec.HISTORY_LIMIT_MAX);
            assertThat(h.before() == null || h.before() >= 0).isTrue();
          }
          case ClientFrame.Typing t -> assertThat(Names.isRoom(t.room())).isTrue();
          case ClientFrame.Read r -> {
            assertThat(Names.isRoom(r.room())).isTrue();
            assertThat(r.seq()).isNotNegative();
          }
          case ClientFrame.Edit e -> {
            assertThat(Names.isRoom(e.room())).isTrue();
            assertThat(ClientCodec.isId(e.id())).isTrue();
            assertThat(e.seq()).isPositive();
            assertText(e.text());
          }
          case ClientFrame.Delete d -> {
            assertThat(Names.isRoom(d.room())).isTrue();
            assertThat(ClientCodec.isId(d.id())).isTrue();
            assertThat(d.seq()).isPositive();
          }
        }
      }
    }
  }

  private static void assertText(String text) {
    assertThat(text.codePointCount(0, text.length())).isBetween(1, ClientCodec.MAX_TEXT);
    assertThat(
            text.codePoints()
                .allMatch(cp -> Character.isWhitespace(cp) || Character.isSpaceChar(cp)))
        .as("blank text accepted: %s", text)
        .isFalse();
  }

  @Provide
  Arbitrary<String> frames() {
    return FrameArbitraries.jsonFrames();
  }

  @Provide
  Arbitrary<String> damaged() {
    return FrameArbitraries.damaged(FrameArbitraries.jsonFrames());
  }
}
