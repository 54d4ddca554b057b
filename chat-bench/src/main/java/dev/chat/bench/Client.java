package dev.chat.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.util.concurrent.FastThreadLocal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One simulated user on one WebSocket, speaking our protocol or Socket.IO's. All its state is
 * confined to one event loop, which it keeps across reconnects.
 *
 * <p>Like a real client it acknowledges deliveries cumulatively per room with the cadence of
 * chat-client.js ({@link AckCadence}: after {@code ackDelayMs} from the first unacknowledged
 * delivery, or at once on the {@code ackEvery}th, whichever comes first; a redelivery is
 * acknowledged again; a gap in a room's seqs is not acked but resumed from), keeps its
 * unacknowledged sends and sends them again with the same id after a reconnect, and resumes rooms
 * with {@code epoch} and {@code since} (ours; Socket.IO has no resume, so it only joins again).
 * Pings are answered by Netty (WebSocket pong) or here (Engine.IO {@code 3}).
 */
// Netty's write futures are ignored on purpose: a failed write closes the channel, and the close
// listener is where a client counts its end.
@SuppressWarnings("FutureReturnValueIgnored")
public final class Client {
  private static final byte[] K_TYPE = FrameScanner.key("type");
  private static final byte[] K_ROOM = FrameScanner.key("room");
  private static final byte[] K_SEQ = FrameScanner.key("seq");
  private static final byte[] K_ID = FrameScanner.key("id");
  private static final byte[] K_EPOCH = FrameScanner.key("epoch");
  private static final byte[] K_RETRY = FrameScanner.key("retryAfterMs");
  private static final byte[] K_CODE = FrameScanner.key("code");
  private static final byte[] T_MESSAGE = "message".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_ACK = "ack".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_JOINED = "joined".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_WELCOME = "welcome".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_ERROR = "error".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_TYPING = "typing".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] T_READ = "read".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] C_RATE = "rate_limited".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] C_UNAVAILABLE = "unavailable".getBytes(StandardCharsets.US_ASCII);

  /**
   * chat-client.js's {@code retryUnavailableMs}: after an {@code unavailable} error, a send is sent
   * again and every unanswered join is sent again this long after. AckCadenceTest keeps it equal.
   */
  static final long RETRY_UNAVAILABLE_MS = 1_000;

  private static final byte[] M_T = "t=".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] M_P = ";p=".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] M_C = ";c=".getBytes(StandardCharsets.US_ASCII);
  private static final FastThreadLocal<byte[]> SCRATCH =
      new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
          return new byte[70_000];
        }
      };

  /** Shared by all clients of a run. */
  public static final class Shared {
    final Proto proto;
    final Net net;
    final List<URI> urls;
    final Ledger ledger;
    final String padding;
    final AckCadence acks;

    /**
     * Socket.IO has no delivery acks; when true its clients emit an {@code ack} event per room
     * ({@code {"room":R,"id":lastId}}) at the same cadence, which the peer reads and keeps, so both
     * servers read as many ack frames.
     */
    final boolean sioAcks;

    volatile Stats stats;

    /**
     * Called on the client's loop when a (re)join of all its rooms is answered after a reconnect.
     */
    volatile Runnable onRejoined = () -> {};

    final java.util.concurrent.atomic.LongAdder connected =
        new java.util.concurrent.atomic.LongAdder();
    final java.util.concurrent.atomic.LongAdder disconnects =
        new java.util.concurrent.atomic.LongAdder();
    volatile boolean reconnect;
    volatile boolean closing;

    public Shared(Proto proto, Net net, List<URI> urls, Ledger ledger, int textBytes, Stats stats) {
      this(proto, net, urls, ledger, textBytes, stats, AckCadence.CHAT_CLIENT_JS, true);
    }

    public Shared(
        Proto proto,
        Net net,
        List<URI> urls,
        Ledger ledger,
        int textBytes,
        Stats stats,
        AckCadence acks,
        boolean sioAcks) {
      this.acks = acks;
      this.sioAcks = sioAcks;
      this.proto = proto;
      this.net = net;
      this.urls = urls;
      this.ledger = ledger;
      this.padding = "x".repeat(Math.max(0, textBytes - 40));
      this.stats = stats;
    }
  }

  private static final class Room {
    final String name;
    final Ledger.Member member;
    String epoch;
    long lastSeq = -1;
    boolean ackDue;

    /** A resume asked for because of a gap in the seqs, not yet answered. */
    boolean resuming;

    /** Socket.IO: the id of the last message received, what its ack event names. */
    String lastId;

    boolean joined;
    CompletableFuture<Void> joinedFuture = new CompletableFuture<>();

    Room(String name, Ledger.Member member) {
      this.name = name;
      this.member = member;
    }
  }

  private static final class Pending {
    final String room, id, text;
    final int counter;
    boolean retried;

    Pending(String room, String id, String text, int counter) {
      this.room = room;
      this.id = id;
      this.text = text;
      this.counter = counter;
    }
  }

  final int index;
  final String user;
  final EventLoop loop;
  private final Shared shared;
  private int urlIndex;
  private Channel channel;
  private boolean ready;
  // A retry of the unanswered joins is scheduled (after an unavailable join).
  private boolean rejoinScheduled;
  private io.netty.util.concurrent.ScheduledFuture<?> ackTimer;
  private int unackedDeliveries;
  private int counter;
  private long readUpTo;
  private long sioAckIds;
  private final Map<String, Room> rooms = new LinkedHashMap<>(2);
  private final Map<String, Pending> unacked = new LinkedHashMap<>();
  private final Map<Long, Object> sioWaiting = new HashMap<>();
  private CompletableFuture<Void> readyFuture;
  private int attempt;
  boolean affected;

  /** False for publishers whose own echoes should not count (the latency scenario). */
  volatile boolean measure = true;

  long disconnectedAtNanos;

  public Client(int index, String user, int urlIndex, Shared shared) {
    this.index = index;
    this.user = user;
    this.urlIndex = urlIndex;
    this.shared = shared;
    this.loop = shared.net.next();
  }

  public int urlIndex() {
    return urlIndex;
  }

  /**
   * Opens the socket; completes when the server said welcome (ours) or connected the namespace
   * (Socket.IO).
   */
  public CompletableFuture<Void> connect() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    loop.execute(() -> open(f));
    return f;
  }

  private void open(CompletableFuture<Void> f) {
    readyFuture = f;
    ready = false;
    URI base = shared.urls.get(urlIndex);
    URI uri =
        URI.create(
            base.getScheme()
                + "://"
                + base.getHost()
                + ":"
                + base.getPort()
                + (shared.proto == Proto.OURS
                    ? "/ws?user="
                    : "/socket.io/?EIO=4&transport=websocket&user=")
                + user);
    WebSocketClientProtocolConfig config =
        WebSocketClientProtocolConfig.newBuilder()
            .webSocketUri(uri)
            .customHeaders(new DefaultHttpHeaders())
            .maxFramePayloadLength(1 << 20)
            .handshakeTimeoutMillis(15_000)
            .build();
    InetSocketAddress remote = new InetSocketAddress(base.getHost(), base.getPort());
    InetSocketAddress local = shared.net.nextSource(base.getHost());
    var b =
        shared
            .net
            .bootstrap(loop)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast(
                            new HttpClientCodec(),
                            new HttpObjectAggregator(8192),
                            new WebSocketClientProtocolHandler(config),
                            new WebSocketFrameAggregator(1 << 20),
                            new Handler());
                  }
                });
    ChannelFuture cf = local == null ? b.connect(remote) : b.connect(remote, local);
    channel = cf.channel();
    cf.addListener(
        x -> {
          if (!x.isSuccess()) failed(x.cause());
        });
  }

  private void failed(Throwable cause) {
    CompletableFuture<Void> f = readyFuture;
    readyFuture = null;
    if (f != null)
      f.completeExceptionally(cause == null ? new IllegalStateException("closed") : cause);
  }

  private final class Handler extends SimpleChannelInboundHandler<WebSocketFrame> {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
        failed(new IllegalStateException("handshake timeout"));
        ctx.close();
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
      if (frame instanceof TextWebSocketFrame) onText(frame.content());
      else if (frame instanceof CloseWebSocketFrame) ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (ctx.channel() != channel) return;
      boolean wasReady = ready;
      ready = false;
      failed(new IllegalStateException("connection closed before ready"));
      if (wasReady) {
        shared.connected.decrement();
        shared.disconnects.increment();
        if (shared.reconnect && !shared.closing) {
          if (!affected) {
            affected = true;
            disconnectedAtNanos = System.nanoTime();
          }
          for (Room r : rooms.values()) {
            r.joined = false;
            r.joinedFuture = new CompletableFuture<>();
          }
          urlIndex = (urlIndex + 1) % shared.urls.size();
          attempt = 0;
          scheduleReconnect(ThreadLocalRandom.current().nextLong(1000));
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failed(cause);
      ctx.close();
    }
  }

  private void scheduleReconnect(long delayMs) {
    loop.schedule(
        () -> {
          if (shared.closing) return;
          CompletableFuture<Void> f = new CompletableFuture<>();
          f.whenComplete(
              (v, e) ->
                  loop.execute(
                      () -> {
                        if (e == null) rejoinAll();
                        else {
                          attempt++;
                          scheduleReconnect(
                              Math.min(5000, 100L << Math.min(attempt, 6))
                                  + ThreadLocalRandom.current().nextLong(100));
                        }
                      }));
          open(f);
        },
        delayMs,
        TimeUnit.MILLISECONDS);
  }

  private void rejoinAll() {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (Room r : rooms.values()) {
      all.add(r.joinedFuture);
      sendJoin(r, true);
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .whenComplete(
            (v, e) ->
                loop.execute(
                    () -> {
                      if (e != null) return;
                      shared.onRejoined.run();
                      affected = false;
                      // Sends the server may not have stored: again, with the same ids.
                      for (Pending p : new ArrayList<>(unacked.values())) {
                        shared.ledger.retriedSends.increment();
                        p.retried = true;
                        writeSend(p);
                      }
                    }));
  }

  private void becameReady() {
    ready = true;
    shared.connected.increment();
    CompletableFuture<Void> f = readyFuture;
    readyFuture = null;
    if (f != null) f.complete(null);
  }

  /** Joins a room; completes when the server answered. */
  public CompletableFuture<Void> join(String room, boolean track) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    loop.execute(
        () -> {
          Room r =
              rooms.computeIfAbsent(room, n -> new Room(n, track ? shared.ledger.member(n) : null));
          r.joinedFuture.whenComplete(
              (v, e) -> {
                if (e == null) f.complete(null);
                else f.completeExceptionally(e);
              });
          sendJoin(r, false);
        });
    return f;
  }

  private void sendJoin(Room r, boolean resume) {
    if (shared.proto == Proto.OURS) {
      String frame =
          resume && r.epoch != null && r.lastSeq >= 0
              ? "{\"type\":\"join\",\"room\":\""
                  + r.name
                  + "\",\"epoch\":\""
                  + r.epoch
                  + "\",\"since\":"
                  + r.lastSeq
                  + "}"
              : "{\"type\":\"join\",\"room\":\"" + r.name + "\"}";
      write(frame);
    } else {
      long id = sioAckIds++;
      sioWaiting.put(id, r);
      write("42" + id + "[\"join\",{\"room\":\"" + r.name + "\"}]");
    }
  }

  /**
   * Publishes one message due at {@code intendedNanos}; sent at once, or queued until reconnected.
   */
  public void publish(String room, long intendedNanos) {
    loop.execute(
        () -> {
          int c = counter++;
          String id = user + "-" + c;
          String text = "t=" + intendedNanos + ";p=" + index + ";c=" + c + ";" + shared.padding;
          Pending p = new Pending(room, id, text, c);
          unacked.put(id, p);
          shared.stats.sent.increment();
          Room r = rooms.get(room);
          if (ready && r != null && r.joined) writeSend(p);
        });
  }

  /** Ours (v1.1): says this user is typing in a joined room, now; never queued or retried. */
  public void typing(String room) {
    loop.execute(
        () -> {
          Room r = rooms.get(room);
          if (ready && r != null && r.joined) {
            shared.stats.signals.increment();
            write("{\"type\":\"typing\",\"room\":\"" + room + "\"}");
          }
        });
  }

  /**
   * Ours (v1.1): a read receipt one seq past this client's last one (1, 2, 3…), so that it moves
   * the position forward while the room's head is ahead of it; never queued or retried.
   */
  public void read(String room) {
    loop.execute(
        () -> {
          Room r = rooms.get(room);
          if (ready && r != null && r.joined) {
            shared.stats.signals.increment();
            readUpTo++;
            write("{\"type\":\"read\",\"room\":\"" + room + "\",\"seq\":" + readUpTo + "}");
          }
        });
  }

  private void writeSend(Pending p) {
    if (shared.proto == Proto.OURS) {
      write(
          "{\"type\":\"send\",\"room\":\""
              + p.room
              + "\",\"id\":\""
              + p.id
              + "\",\"text\":\""
              + p.text
              + "\"}");
    } else {
      long id = sioAckIds++;
      sioWaiting.put(id, p);
      write(
          "42"
              + id
              + "[\"send\",{\"room\":\""
              + p.room
              + "\",\"id\":\""
              + p.id
              + "\",\"text\":\""
              + p.text
              + "\"}]");
    }
  }

  private void write(String s) {
    Channel ch = channel;
    if (ch == null || !ch.isActive()) return;
    ByteBuf buf = ch.alloc().buffer(ByteBufUtil.utf8MaxBytes(s));
    ByteBufUtil.writeUtf8(buf, s);
    ch.writeAndFlush(new TextWebSocketFrame(buf), ch.voidPromise());
  }

  /** Closes the socket without reconnecting. */
  public void close() {
    loop.execute(
        () -> {
          if (ackTimer != null) ackTimer.cancel(false);
          ackTimer = null;
          if (channel != null) channel.close();
        });
  }

  public int unackedSends() {
    return unacked.size();
  }

  // ---- receiving

  private void onText(ByteBuf content) {
    int len = content.readableBytes();
    byte[] b;
    int off;
    if (content.hasArray()) {
      b = content.array();
      off = content.arrayOffset() + content.readerIndex();
    } else {
      b = SCRATCH.get();
      if (len > b.length) b = new byte[len];
      content.getBytes(content.readerIndex(), b, 0, len);
      off = 0;
    }
    if (shared.proto == Proto.OURS) onOurs(b, off, off + len);
    else onSio(off == 0 ? b : java.util.Arrays.copyOfRange(b, off, off + len), len);
  }

  private void onOurs(byte[] b, int from, int to) {
    if (FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_MESSAGE)) {
      String room = FrameScanner.stringField(b, from, to, K_ROOM);
      long seq = FrameScanner.longField(b, from, to, K_SEQ, -1);
      Room r = room == null ? null : rooms.get(room);
      if (r == null) return;
      if (seq <= r.lastSeq) {
        shared.ledger.rawDuplicates.increment();
        shared.stats.rawDuplicates.increment();
        // chat-client.js acks a redelivery or a replay overlap again
        if (r.joined) scheduleAck(r);
        return;
      }
      if (r.lastSeq > 0 && seq > r.lastSeq + 1) {
        // chat-client.js: the service promises no gaps; one that shows anyway is neither shown nor
        // acked but asked for again by resuming from the last seq. Counted, so it is not silent.
        shared.ledger.gapsResumed.increment();
        if (!r.resuming && r.joined) {
          r.resuming = true;
          sendJoin(r, true);
        }
        return;
      }
      if (r.member != null) r.member.seq(seq);
      r.lastSeq = seq;
      delivered(r, b, from, to);
      // chat-client.js ignores a message of a room it has not been told it joined (nor acks it);
      // it is still counted here, so that a server sending one shows in the ledger, not as a loss.
      if (r.joined) scheduleAck(r);
    } else if (FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_ACK)) {
      String id = FrameScanner.stringField(b, from, to, K_ID);
      Pending p = id == null ? null : unacked.remove(id);
      if (p == null) return;
      long seq = FrameScanner.longField(b, from, to, K_SEQ, -1);
      Room r = rooms.get(p.room);
      if (r != null && p.retried && r.lastSeq >= seq) shared.ledger.serverDuplicateAcks.increment();
      shared.stats.acked.increment();
      shared.ledger.acked(index, p.room, p.counter, seq);
    } else if (FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_JOINED)) {
      String room = FrameScanner.stringField(b, from, to, K_ROOM);
      Room r = room == null ? null : rooms.get(room);
      if (r == null) return;
      String epoch = FrameScanner.stringField(b, from, to, K_EPOCH);
      if (r.epoch != null && !r.epoch.equals(epoch)) r.lastSeq = -1;
      r.epoch = epoch;
      r.joined = true;
      r.resuming = false;
      r.joinedFuture.complete(null);
    } else if (FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_TYPING)
        || FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_READ)) {
      // Ephemeral (v1.1): counted as deliveries of the step, with no latency and no ack.
      if (measure) shared.stats.received.increment();
    } else if (FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_WELCOME)) {
      becameReady();
    } else if (FrameScanner.stringFieldIs(b, from, to, K_TYPE, T_ERROR)) {
      shared.stats.errors.increment();
      if (FrameScanner.stringFieldIs(b, from, to, K_CODE, C_RATE)) {
        shared.stats.rateLimited.increment();
        String id = FrameScanner.stringField(b, from, to, K_ID);
        Pending p = id == null ? null : unacked.get(id);
        long after = FrameScanner.longField(b, from, to, K_RETRY, 100);
        // Refused before it was stored: not a retry of something the server may hold.
        if (p != null) resendLater(p, Math.max(1, after), false);
      } else if (FrameScanner.stringFieldIs(b, from, to, K_CODE, C_UNAVAILABLE)) {
        shared.stats.unavailable.increment();
        retryUnavailable(FrameScanner.stringField(b, from, to, K_ID));
      }
    }
  }

  /**
   * As chat-client.js does: a send answered {@code unavailable} (it has an id) goes again with the
   * same id, and a join answered so (the error names no room) makes every unanswered join go again,
   * {@link #RETRY_UNAVAILABLE_MS} later.
   */
  private void retryUnavailable(String id) {
    if (id != null) {
      Pending p = unacked.get(id);
      // The server may have stored it (a replica ack that timed out): a retry with the same id.
      if (p != null) resendLater(p, RETRY_UNAVAILABLE_MS, true);
      return;
    }
    if (rejoinScheduled) return;
    rejoinScheduled = true;
    loop.schedule(
        () -> {
          rejoinScheduled = false;
          if (!ready) return;
          for (Room r : rooms.values()) {
            if (!r.joined) sendJoin(r, true);
          }
        },
        RETRY_UNAVAILABLE_MS,
        TimeUnit.MILLISECONDS);
  }

  /**
   * Sends {@code p} again with its id after {@code delayMs}, unless acked or disconnected by then;
   * {@code retried}: counted as a retry the server may answer as a duplicate.
   */
  private void resendLater(Pending p, long delayMs, boolean retried) {
    loop.schedule(
        () -> {
          if (!unacked.containsKey(p.id) || !ready) return;
          if (retried) {
            shared.ledger.retriedSends.increment();
            p.retried = true;
          }
          writeSend(p);
        },
        delayMs,
        TimeUnit.MILLISECONDS);
  }

  private void delivered(Room r, byte[] b, int from, int to) {
    long now = System.nanoTime();
    long intended = FrameScanner.longAfter(b, from, to, M_T, Long.MIN_VALUE);
    if (r.member != null) {
      int pub = (int) FrameScanner.longAfter(b, from, to, M_P, -1);
      int c = (int) FrameScanner.longAfter(b, from, to, M_C, -1);
      if (pub >= 0 && c >= 0 && !r.member.record(pub, c)) shared.ledger.appDuplicates.increment();
    }
    if (!measure) return;
    if (intended != Long.MIN_VALUE) shared.stats.delivered(intended, now);
    else shared.stats.received.increment();
  }

  /** chat-client.js's {@code #scheduleAck}: one counter and one timer per client, not per room. */
  private void scheduleAck(Room r) {
    r.ackDue = true;
    if (++unackedDeliveries >= shared.acks.every()) flushAcks();
    else if (ackTimer == null)
      ackTimer = loop.schedule(this::flushAcks, shared.acks.delayMs(), TimeUnit.MILLISECONDS);
  }

  /** chat-client.js's {@code #flushAcks}: every room with something new to ack, one frame each. */
  private void flushAcks() {
    if (ackTimer != null) {
      ackTimer.cancel(false);
      ackTimer = null;
    }
    unackedDeliveries = 0;
    for (Room r : rooms.values()) {
      if (!r.ackDue || !r.joined) continue;
      if (shared.proto == Proto.OURS) {
        if (r.lastSeq <= 0) continue;
        r.ackDue = false;
        write("{\"type\":\"ack\",\"room\":\"" + r.name + "\",\"seq\":" + r.lastSeq + "}");
      } else if (r.lastId != null) {
        r.ackDue = false;
        write("42[\"ack\",{\"room\":\"" + r.name + "\",\"id\":\"" + r.lastId + "\"}]");
      }
    }
  }

  private static final byte[] E_MESSAGE = "message".getBytes(StandardCharsets.US_ASCII);

  private void onSio(byte[] b, int len) {
    switch (FrameScanner.sioKind(b, len)) {
      case OPEN -> write("40");
      case PING -> write("3");
      case CONNECT -> becameReady();
      case CONNECT_ERROR -> {
        failed(new IllegalStateException("socket.io connect error"));
        channel.close();
      }
      case EVENT -> {
        if (!FrameScanner.sioEventIs(b, len, E_MESSAGE)) return;
        String room = FrameScanner.stringField(b, 0, len, K_ROOM);
        Room r = room == null ? null : rooms.get(room);
        if (r == null) return;
        if (shared.sioAcks && r.joined) {
          r.lastId = FrameScanner.stringField(b, 0, len, K_ID);
          scheduleAck(r);
        }
        if (r.member != null) {
          // Socket.IO has no seq: de-duplicate by the message's (publisher, counter), i.e. by id.
          int pub = (int) FrameScanner.longAfter(b, 0, len, M_P, -1);
          int c = (int) FrameScanner.longAfter(b, 0, len, M_C, -1);
          if (pub >= 0 && c >= 0 && !r.member.record(pub, c)) {
            shared.ledger.rawDuplicates.increment();
            shared.stats.rawDuplicates.increment();
            return;
          }
        }
        if (!measure) return;
        long intended = FrameScanner.longAfter(b, 0, len, M_T, Long.MIN_VALUE);
        if (intended != Long.MIN_VALUE) shared.stats.delivered(intended, System.nanoTime());
        else shared.stats.received.increment();
      }
      case ACK -> {
        Object w = sioWaiting.remove(FrameScanner.sioAckId(b, len));
        if (w instanceof Room r) {
          r.joined = true;
          r.joinedFuture.complete(null);
        } else if (w instanceof Pending p && unacked.remove(p.id) != null) {
          shared.stats.acked.increment();
          shared.ledger.acked(index, p.room, p.counter, 0);
        }
      }
      default -> {}
    }
  }
}
