package dev.chat.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;

/**
 * One event loop's wire encoding of the text frame it is fanning out: the WebSocket frame, header
 * and payload, built once for all of the loop's recipients of a message instead of once per socket.
 *
 * <p>The hub hands the same {@code byte[]} to every member of a room one after the other, so the
 * last array encoded is remembered by identity and a fan-out of n sockets encodes once and hands
 * out n duplicates. Server frames are never masked (RFC 6455 section 5.1), so one encoding fits
 * every socket.
 *
 * <p>The frame lives in a read-only direct buffer that is freed by the garbage collector (a JDK
 * {@link ByteBuffer#allocateDirect direct buffer}, not one of Netty's no-cleaner buffers) and is
 * wrapped as unreleasable: every write path of Netty and Vert.x releases what it wrote, fails or
 * drops, and for a buffer shared by a room none of those releases may free it. Each socket gets a
 * {@link ByteBuf#duplicate() duplicate} with its own reader index, which the socket's write
 * advances.
 *
 * <p>Confined to one event loop, like the hub that fans out.
 */
public final class SharedFrames {

  private static final int FIN_TEXT = 0x81;

  private byte[] lastPayload;
  private ByteBuf lastFrame;

  /** The encoded text frame of {@code payload}, a view of its own for one socket's write. */
  @SuppressWarnings("ReferenceEquality") // the identity of the hub's one array per message
  public ByteBuf frameOf(byte[] payload) {
    if (payload != lastPayload) {
      lastFrame = encode(payload);
      lastPayload = payload;
    }
    return lastFrame.duplicate();
  }

  /**
   * A final, unmasked text frame of {@code payload}, as Netty's {@code WebSocket08FrameEncoder}
   * writes it for a server: the same header for the same length, then the payload.
   */
  static ByteBuf encode(byte[] payload) {
    int length = payload.length;
    int header = length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10;
    ByteBuffer frame = ByteBuffer.allocateDirect(header + length);
    frame.put((byte) FIN_TEXT);
    if (length <= 125) {
      frame.put((byte) length);
    } else if (length <= 0xFFFF) {
      frame.put((byte) 126);
      frame.putShort((short) length);
    } else {
      frame.put((byte) 127);
      frame.putLong(length);
    }
    frame.put(payload).flip();
    return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(frame.asReadOnlyBuffer()));
  }
}
