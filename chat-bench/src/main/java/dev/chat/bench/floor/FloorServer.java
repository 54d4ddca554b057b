package dev.chat.bench.floor;

import dev.chat.bench.FrameScanner;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ResourceLeakDetector;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's floor: the least a server must do to deliver what chat-bench measures. It accepts
 * the same WebSocket connections as chat-service ({@code /ws?user=U}), answers just enough of the
 * protocol for chat-bench's clients to count as connected and joined ({@code welcome}, {@code
 * joined}, the sender's {@code ack}), and for every {@code send} writes one pre-encoded {@code
 * message} frame, with the fields and so the size of ours, to every member of the room. Nothing
 * else: no JSON parsing (a byte scan for three string fields of a send), no history, no Redis, no
 * per-recipient state, no redelivery; delivery acks are read and discarded. What this costs per
 * delivery is, on this machine, the kernel's and Netty's cost of the socket writes and reads: the
 * floor our CPU per delivery is measured against. Written for the benchmark only.
 *
 * <p>One process stands for every replica of a scenario (run.sh gives the generator its url once
 * per replica): with no bus between processes, the floor's cost does not depend on how the sockets
 * are split. Each room has a home event loop that numbers its messages and encodes each frame once;
 * every loop then writes a duplicate of it to its own members, in the order the home loop sent
 * them.
 *
 * <p>{@code java -jar chat-bench.jar floor --port P [--host 0.0.0.0] [--threads 1]}; {@code GET
 * /health/ready} answers 200 once it listens. SIGTERM closes it.
 */
// Netty's write futures are ignored on purpose: a failed write closes the channel.
@SuppressWarnings("FutureReturnValueIgnored")
public final class FloorServer implements AutoCloseable {
  private static final byte[] K_TYPE = FrameScanner.key("type");
  private static final byte[] K_ROOM = FrameScanner.key("room");
  private static final byte[] K_ID = FrameScanner.key("id");
  private static final byte[] K_TEXT = FrameScanner.key("text");
  private static final byte[] T_JOIN = "join".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_SEND = "send".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ACK_PREFIX = "{\"type\":\"ack\"".getBytes(StandardCharsets.US_ASCII);
  private static final AttributeKey<String> USER = AttributeKey.valueOf("floor.user");

  /** A socket whose unsent output passes this is closed (a bounded buffer, as ours does). */
  private static final int HIGH_WATER = 4 << 20;

  private final java.util.concurrent.atomic.LongAdder acksRead =
      new java.util.concurrent.atomic.LongAdder();
  private final EventLoopGroup group;
  private final Channel server;
  private final List<EventLoop> loops = new ArrayList<>();

  /** Per event loop: its members by room. Touched only on that loop. */
  private final Map<EventLoop, Map<String, List<Channel>>> membersByLoop = new HashMap<>();

  /** Per event loop: the seq of the rooms whose home it is. Touched only on that loop. */
  private final Map<EventLoop, Map<String, long[]>> seqsByLoop = new HashMap<>();

  private FloorServer(String host, int port, int threads) throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    group =
        new MultiThreadIoEventLoopGroup(
            threads, epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    for (var e : group) {
      EventLoop l = (EventLoop) e;
      loops.add(l);
      membersByLoop.put(l, new HashMap<>());
      seqsByLoop.put(l, new HashMap<>());
    }
    WebSocketServerProtocolConfig ws =
        WebSocketServerProtocolConfig.newBuilder()
            .websocketPath("/ws")
            .checkStartsWith(true)
            .maxFramePayloadLength(1 << 16)
            .build();
    server =
        new ServerBootstrap()
            .group(group)
            .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
            .option(ChannelOption.SO_BACKLOG, 65535)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(
                ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(HIGH_WATER / 2, HIGH_WATER))
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new HttpServerCodec(),
                            new HttpObjectAggregator(8192),
                            new WebSocketServerProtocolHandler(ws),
                            new Handler());
                  }
                })
            .bind(host, port)
            .sync()
            .channel();
    System.err.println(
        "floor server pid="
            + ProcessHandle.current().pid()
            + " port="
            + port
            + " threads="
            + threads
            + " transport="
            + (epoll ? "epoll" : "nio"));
  }

  /** Starts a floor server listening on {@code host:port}. */
  public static FloorServer start(String host, int port, int threads) throws InterruptedException {
    return new FloorServer(host, port, threads);
  }

  /** The port it listens on (the one chosen when started on port 0). */
  public int port() {
    return ((java.net.InetSocketAddress) server.localAddress()).getPort();
  }

  /** Delivery ack frames read (and dropped) so far. */
  public long acksRead() {
    return acksRead.sum();
  }

  /** The command line: runs until the process is told to stop. */
  public static int run(String host, int port, int threads) throws InterruptedException {
    // As Vert.x does at start (VertxImpl) unless the property is set: Netty's leak detector, at its
    // default level, records a stack trace for one buffer in 128, about 1% of the floor's CPU that
    // ours does not pay.
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
    }
    FloorServer f = start(host, port, threads);
    Runtime.getRuntime().addShutdownHook(new Thread(f::close, "floor-shutdown"));
    f.server.closeFuture().sync();
    return 0;
  }

  private final class Handler extends SimpleChannelInboundHandler<Object> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof TextWebSocketFrame t) onText(ctx.channel(), t.content());
      else if (msg instanceof FullHttpRequest req) http(ctx, req);
      else if (msg instanceof WebSocketFrame) {
        // binary or continuation frames: nothing in the protocol, read and dropped
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete hc) {
        List<String> u = new QueryStringDecoder(hc.requestUri()).parameters().get("user");
        String user = u == null || u.isEmpty() ? "anonymous" : u.get(0);
        ctx.channel().attr(USER).set(user);
        text(
            ctx.channel(),
            "{\"type\":\"welcome\",\"user\":\""
                + user
                + "\",\"connId\":\"floor-"
                + ctx.channel().id().asShortText()
                + "\",\"node\":\"floor\",\"heartbeat\":{\"intervalMs\":25000,\"timeoutMs\":60000},"
                + "\"ackTimeoutMs\":5000}");
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (!ctx.channel().isWritable()) ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      Map<String, List<Channel>> rooms = membersByLoop.get(ctx.channel().eventLoop());
      rooms.values().forEach(l -> l.remove(ctx.channel()));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  private static void http(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean ready = req.uri().startsWith("/health");
    var res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            ready ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND,
            Unpooled.copiedBuffer(ready ? "ok\n" : "not found\n", StandardCharsets.US_ASCII));
    res.headers()
        .set(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes())
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
    ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
  }

  private void onText(Channel ch, ByteBuf content) {
    int len = content.readableBytes();
    // Delivery acks are most of what clients send: recognised by their first bytes and dropped.
    if (len >= ACK_PREFIX.length && startsWith(content, ACK_PREFIX)) {
      acksRead.increment();
      return;
    }
    byte[] b = ByteBufUtil.getBytes(content);
    if (FrameScanner.stringFieldIs(b, 0, len, K_TYPE, T_JOIN)) {
      String room = FrameScanner.stringField(b, 0, len, K_ROOM);
      if (room == null) return;
      List<Channel> members =
          membersByLoop.get(ch.eventLoop()).computeIfAbsent(room, r -> new ArrayList<>());
      if (!members.contains(ch)) members.add(ch);
      // The room's seq lives on its home loop; the joined frame tells where it stands.
      home(room)
          .execute(
              () -> {
                long seq = seqs(room)[0];
                text(
                    ch,
                    "{\"type\":\"joined\",\"room\":\""
                        + room
                        + "\",\"epoch\":\"floor\",\"seq\":"
                        + seq
                        + ",\"online\":0,\"users\":[]}");
              });
    } else if (FrameScanner.stringFieldIs(b, 0, len, K_TYPE, T_SEND)) {
      String room = FrameScanner.stringField(b, 0, len, K_ROOM);
      String id = FrameScanner.stringField(b, 0, len, K_ID);
      String text = FrameScanner.stringField(b, 0, len, K_TEXT);
      if (room == null || id == null || text == null) return;
      String from = ch.attr(USER).get();
      home(room).execute(() -> publish(ch, room, id, from, text));
    }
  }

  /**
   * On the room's home loop: numbers the message, acks the sender, hands one frame to each loop.
   */
  private void publish(Channel sender, String room, String id, String from, String text) {
    long seq = ++seqs(room)[0];
    long ts = System.currentTimeMillis();
    byte[] payload =
        ("{\"type\":\"message\",\"room\":\""
                + room
                + "\",\"seq\":"
                + seq
                + ",\"id\":\""
                + id
                + "\",\"from\":\""
                + from
                + "\",\"text\":\""
                + text
                + "\",\"ts\":"
                + ts
                + "}")
            .getBytes(StandardCharsets.UTF_8);
    ByteBuf frame = encodeFrame(payload);
    try {
      for (EventLoop l : loops) {
        ByteBuf mine = frame.retainedDuplicate();
        if (l.inEventLoop()) deliver(l, room, mine);
        else l.execute(() -> deliver(l, room, mine));
      }
    } finally {
      frame.release();
    }
    text(
        sender,
        "{\"type\":\"ack\",\"id\":\""
            + id
            + "\",\"room\":\""
            + room
            + "\",\"seq\":"
            + seq
            + ",\"ts\":"
            + ts
            + "}");
  }

  /** On loop {@code l}: one duplicate of the encoded frame to each of its members of the room. */
  private void deliver(EventLoop l, String room, ByteBuf frame) {
    try {
      List<Channel> members = membersByLoop.get(l).get(room);
      if (members == null) return;
      for (int i = 0; i < members.size(); i++) {
        Channel c = members.get(i);
        // A ByteBuf, not a WebSocketFrame: Netty's frame encoder passes it through untouched.
        c.writeAndFlush(frame.retainedDuplicate(), c.voidPromise());
      }
    } finally {
      frame.release();
    }
  }

  private EventLoop home(String room) {
    return loops.get(Math.floorMod(room.hashCode(), loops.size()));
  }

  private long[] seqs(String room) {
    return seqsByLoop.get(home(room)).computeIfAbsent(room, r -> new long[1]);
  }

  /** A server-to-client text frame: FIN + text opcode, unmasked length, then the payload. */
  static ByteBuf encodeFrame(byte[] payload) {
    int n = payload.length;
    int header = n < 126 ? 2 : n < 65536 ? 4 : 10;
    ByteBuf buf = Unpooled.directBuffer(header + n);
    buf.writeByte(0x81);
    if (n < 126) buf.writeByte(n);
    else if (n < 65536) buf.writeByte(126).writeShort(n);
    else buf.writeByte(127).writeLong(n);
    return buf.writeBytes(payload);
  }

  private static void text(Channel ch, String s) {
    if (ch.isActive()) ch.writeAndFlush(new TextWebSocketFrame(s), ch.voidPromise());
  }

  private static boolean startsWith(ByteBuf b, byte[] prefix) {
    int at = b.readerIndex();
    for (int i = 0; i < prefix.length; i++) if (b.getByte(at + i) != prefix[i]) return false;
    return true;
  }

  @Override
  public void close() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
