package dev.chat.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The generator's event loops, its socket bootstrap, and the round-robin of source addresses. */
public final class Net implements AutoCloseable {
  public final EventLoopGroup group;
  public final boolean epoll;
  private final Class<? extends SocketChannel> channelClass;
  private final int sources;
  private final AtomicInteger nextSource = new AtomicInteger();

  public Net(int threads, String transport, int sources) {
    boolean useEpoll =
        switch (transport) {
          case "epoll" -> true;
          case "nio" -> false;
          default -> Epoll.isAvailable();
        };
    IoHandlerFactory factory = useEpoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    this.group = new MultiThreadIoEventLoopGroup(threads, factory);
    this.epoll = useEpoll;
    this.channelClass = useEpoll ? EpollSocketChannel.class : NioSocketChannel.class;
    this.sources = sources;
  }

  /**
   * A bootstrap whose channels live on {@code loop}, so a client's state stays on one thread across
   * reconnects.
   */
  public Bootstrap bootstrap(EventLoop loop) {
    return new Bootstrap()
        .group(loop)
        .channel(channelClass)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .option(ChannelOption.SO_RCVBUF, 16 * 1024)
        .option(ChannelOption.SO_SNDBUF, 16 * 1024)
        .option(
            ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024));
  }

  /**
   * The next local address, {@code 127.0.0.2 .. 127.0.0.(1+N)} round-robin, so that N times the
   * ~28k ephemeral ports of one address are available; null with {@code --sources 0}.
   */
  public InetSocketAddress nextSource(String remoteHost) {
    if (sources <= 0 || !remoteHost.startsWith("127.")) return null;
    int i = Math.floorMod(nextSource.getAndIncrement(), sources);
    return new InetSocketAddress("127.0." + ((2 + i) / 256) + "." + ((2 + i) % 256), 0);
  }

  public EventLoop next() {
    return group.next();
  }

  /**
   * Waits until every event loop has run everything queued before: a memory barrier with the loops.
   */
  public void quiesce() {
    for (var e : group) {
      try {
        e.submit(() -> {}).get(10, TimeUnit.SECONDS);
      } catch (Exception ex) {
        throw new IllegalStateException(ex);
      }
    }
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
