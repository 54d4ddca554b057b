package dev.chat.session;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Shared frames")
class SharedFramesTest {

  private static byte[] payload(int length) {
    byte[] bytes = new byte[length];
    new Random(length).nextBytes(bytes);
    return bytes;
  }

  private static byte[] bytesOf(ByteBuf buf) {
    return ByteBufUtil.getBytes(buf, buf.readerIndex(), buf.readableBytes());
  }

  /** The buffer that holds the memory under {@code view}'s wrappers. */
  private static ByteBuf root(ByteBuf view) {
    ByteBuf buf = view;
    while (buf.unwrap() != null) {
      buf = buf.unwrap();
    }
    return buf;
  }

  /** What Netty's server-side encoder writes for a final text frame of {@code payload}. */
  private static byte[] nettyEncoded(byte[] payload) {
    EmbeddedChannel ch = new EmbeddedChannel(new WebSocket13FrameEncoder(false));
    assertThat(ch.writeOutbound(new TextWebSocketFrame(Unpooled.wrappedBuffer(payload)))).isTrue();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (ByteBuf part; (part = ch.readOutbound()) != null; ) {
      out.writeBytes(bytesOf(part));
      part.release();
    }
    assertThat(ch.finish()).isFalse();
    return out.toByteArray();
  }

  @Test
  @DisplayName("a payload under 126 bytes has a two-byte header: FIN and text, then the length")
  void shortHeader() {
    assertThat(header(0, 2)).containsExactly(0x81, 0);
    assertThat(header(1, 2)).containsExactly(0x81, 1);
    assertThat(header(125, 2)).containsExactly(0x81, 125);
  }

  @Test
  @DisplayName("a payload of 126 to 65,535 bytes has 126 and a 16-bit big-endian length")
  void mediumHeader() {
    assertThat(header(126, 4)).containsExactly(0x81, 126, 0, 126);
    assertThat(header(1_000, 4)).containsExactly(0x81, 126, 0x03, 0xE8);
    assertThat(header(65_535, 4)).containsExactly(0x81, 126, 0xFF, 0xFF);
  }

  @Test
  @DisplayName("a payload over 65,535 bytes has 127 and a 64-bit big-endian length")
  void longHeader() {
    assertThat(header(65_536, 10)).containsExactly(0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0);
    assertThat(header(1_048_576, 10)).containsExactly(0x81, 127, 0, 0, 0, 0, 0, 0x10, 0, 0);
  }

  /** The first {@code size} bytes of the encoded frame, unsigned, after checking the payload. */
  private static int[] header(int length, int size) {
    byte[] payload = payload(length);
    ByteBuf frame = SharedFrames.encode(payload);
    assertThat(frame.readableBytes()).isEqualTo(size + length);
    assertThat(bytesOf(frame.slice(size, length))).isEqualTo(payload);
    int[] header = new int[size];
    for (int i = 0; i < size; i++) {
      header[i] = frame.getUnsignedByte(i);
    }
    return header;
  }

  @ParameterizedTest(name = "payload of {0} bytes")
  // Each side of each header size, and of the encoder's 1,024-byte gathering threshold.
  @ValueSource(ints = {0, 1, 125, 126, 127, 1_024, 1_025, 4_000, 65_535, 65_536, 200_000})
  @DisplayName("the bytes are the ones Netty's encoder writes for the same text frame")
  void sameBytesAsNetty(int length) {
    byte[] payload = payload(length);
    assertThat(bytesOf(SharedFrames.encode(payload))).isEqualTo(nettyEncoded(payload));
  }

  @Test
  @DisplayName("a JSON frame encodes as Netty encodes it")
  void jsonFrame() {
    byte[] json =
        "{\"type\":\"message\",\"room\":\"r\",\"seq\":1,\"text\":\"h\u00e9llo\"}".getBytes(UTF_8);
    assertThat(bytesOf(SharedFrames.encode(json))).isEqualTo(nettyEncoded(json));
  }

  @Test
  @DisplayName("Netty's encoder passes an encoded frame through untouched: the same buffer")
  void encoderPassesItThrough() {
    byte[] payload = payload(300);
    ByteBuf frame = new SharedFrames().frameOf(payload);
    EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameEncoder(false));
    assertThat(ch.writeOutbound(frame)).isTrue();
    ByteBuf out = ch.readOutbound();
    assertThat(out).isSameAs(frame);
    assertThat(bytesOf(out)).isEqualTo(nettyEncoded(payload));
    assertThat((Object) ch.readOutbound()).isNull();
    ch.finishAndReleaseAll();
  }

  @Test
  @DisplayName("one array is encoded once: every socket gets a view with its own reader index")
  void oneEncodingPerArray() {
    SharedFrames shared = new SharedFrames();
    byte[] payload = payload(500);
    ByteBuf first = shared.frameOf(payload);
    ByteBuf second = shared.frameOf(payload);
    assertThat(second).isNotSameAs(first);
    assertThat(second.isDirect()).isTrue();
    assertThat(root(second)).isSameAs(root(first));

    first.skipBytes(100); // a partial write to one socket
    assertThat(first.release()).isFalse(); // what a socket's write does once written
    assertThat(second.readerIndex()).isZero();
    assertThat(bytesOf(second)).isEqualTo(nettyEncoded(payload));
    assertThat(bytesOf(shared.frameOf(payload))).isEqualTo(nettyEncoded(payload));
  }

  @Test
  @DisplayName("another array is encoded anew, even with equal bytes")
  void anotherArray() {
    SharedFrames shared = new SharedFrames();
    byte[] payload = payload(10);
    ByteBuf first = shared.frameOf(payload);
    ByteBuf other = shared.frameOf(Arrays.copyOf(payload, payload.length));
    assertThat(root(other)).isNotSameAs(root(first));
    assertThat(bytesOf(other)).isEqualTo(bytesOf(first));
    byte[] changed = payload(11);
    assertThat(bytesOf(shared.frameOf(changed))).isEqualTo(nettyEncoded(changed));
  }

  @Test
  @DisplayName("no socket can change the shared bytes")
  void readOnly() {
    ByteBuf frame = new SharedFrames().frameOf(payload(10));
    assertThat(frame.isReadOnly()).isTrue();
  }
}
