package dev.chat.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Flush batching")
// EmbeddedChannel completes writes at once; the test reads what reached the channel, not futures.
@SuppressWarnings("FutureReturnValueIgnored")
class FlushBatchingTest {

  private final EventLoopGroup loop =
      new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());

  /** Counts the flushes that reach the socket end of the pipeline. */
  private static final class FlushCounter extends ChannelOutboundHandlerAdapter {
    final AtomicInteger flushes = new AtomicInteger();
    final List<Integer> order = new CopyOnWriteArrayList<>();

    @Override
    public void flush(ChannelHandlerContext ctx) {
      flushes.incrementAndGet();
      ctx.flush();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      order.add(((ByteBuf) msg).getInt(0));
      ctx.write(msg, promise);
    }
  }

  /**
   * A channel with the batching installed (twice: it must stay one handler) and {@code counter}
   * between it and the socket.
   */
  private Channel channel(FlushCounter counter) throws Exception {
    Channel ch = new LocalChannel();
    FlushBatching.install(ch.pipeline());
    FlushBatching.install(ch.pipeline());
    ch.pipeline().addFirst(counter);
    assertThat(ch.pipeline().names()).containsOnlyOnce(FlushBatching.NAME);
    loop.register(ch).sync();
    return ch;
  }

  @AfterEach
  void stop() {
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /**
   * Runs {@code writes} as one task of the channel's event loop, then waits for the tasks it
   * scheduled. (EmbeddedChannel runs pending tasks on every write, which would run each deferred
   * flush at once, so these channels live on a real event loop.)
   */
  private static void inOneTask(Channel ch, Runnable writes) throws Exception {
    ch.eventLoop().submit(writes).get(10, TimeUnit.SECONDS);
    ch.eventLoop().submit(() -> {}).get(10, TimeUnit.SECONDS);
  }

  private static ByteBuf frame(int i) {
    return Unpooled.copyInt(i);
  }

  @Test
  @DisplayName("frames written and flushed in one task leave in one flush after it, in order")
  void oneFlushPerTurn() throws Exception {
    FlushCounter counter = new FlushCounter();
    Channel ch = channel(counter);
    FlushBatching.install(ch.pipeline());

    AtomicInteger flushesInTask = new AtomicInteger(-1);
    inOneTask(
        ch,
        () -> {
          for (int i = 0; i < 3; i++) {
            ch.pipeline().writeAndFlush(frame(i));
          }
          flushesInTask.set(counter.flushes.get());
        });
    assertThat(flushesInTask.get()).isZero();
    assertThat(counter.flushes.get()).isEqualTo(1);
    assertThat(counter.order).containsExactly(0, 1, 2);
  }

  @Test
  @DisplayName(
      "a long burst is flushed every FLUSH_AFTER frames without waiting for the turn to end")
  void boundedBurst() throws Exception {
    FlushCounter counter = new FlushCounter();
    Channel ch = channel(counter);

    AtomicInteger flushesInTask = new AtomicInteger(-1);
    inOneTask(
        ch,
        () -> {
          for (int i = 0; i < FlushBatching.FLUSH_AFTER + 1; i++) {
            ch.pipeline().writeAndFlush(frame(i));
          }
          flushesInTask.set(counter.flushes.get());
        });
    assertThat(flushesInTask.get()).isEqualTo(1);
    assertThat(counter.flushes.get()).isEqualTo(2);
    assertThat(counter.order).hasSize(FlushBatching.FLUSH_AFTER + 1);
  }

  @Test
  @DisplayName("frames waiting for the deferred flush still count against the write-queue limit")
  void waterMarksSeeDeferredFrames() throws Exception {
    Channel ch = channel(new FlushCounter());
    ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));

    AtomicBoolean writableInTask = new AtomicBoolean(true);
    inOneTask(
        ch,
        () -> {
          for (int i = 0; i < 5; i++) {
            ch.pipeline().writeAndFlush(frame(i));
          }
          writableInTask.set(ch.isWritable());
        });
    assertThat(writableInTask.get()).isFalse();
    assertThat(ch.isWritable()).isTrue();
  }
}
