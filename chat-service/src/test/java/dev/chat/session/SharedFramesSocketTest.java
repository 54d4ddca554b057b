package dev.chat.session;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.CloseCode;
import dev.chat.testing.RawWebSocket;
import dev.chat.testing.RawWebSocket.Frame;
import io.netty.channel.ChannelOutboundBuffer;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.http.WebSocketInternal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Shared frames on real sockets: a Vert.x server with the service's WebSocket options, {@link
 * SocketConnection}s on its sockets (as {@code attach} sets them up, without a session), and bare
 * RFC 6455 clients reading what reaches the wire.
 */
@Timeout(60)
@DisplayName("Shared frames on a socket")
class SharedFramesSocketTest {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final int QUEUE_BYTES = 64 * 1024;

  private record Served(ServerWebSocket ws, Context context) {}

  private final Vertx vertx = Vertx.vertx();
  private final LinkedBlockingQueue<Served> served = new LinkedBlockingQueue<>();
  private final List<RawWebSocket> clients = new ArrayList<>();
  private final SharedFrames shared = new SharedFrames();
  private HttpServer server;

  @BeforeEach
  void start() {
    server =
        vertx
            .createHttpServer(
                new HttpServerOptions()
                    .setPerMessageWebSocketCompressionSupported(false)
                    .setPerFrameWebSocketCompressionSupported(false)
                    .setStrictThreadMode(true))
            .requestHandler(
                request ->
                    request
                        .toWebSocket()
                        .onSuccess(ws -> served.add(new Served(ws, Vertx.currentContext()))));
    server.listen(0, "127.0.0.1").await();
  }

  @AfterEach
  void stop() {
    clients.forEach(RawWebSocket::close);
    vertx.close().await();
  }

  /** A client connected, and the server's side of it with a {@link SocketConnection} on it. */
  private SocketConnection connect(int receiveBufferBytes, int queueBytes, Served[] side)
      throws Exception {
    RawWebSocket client =
        RawWebSocket.connect("127.0.0.1", server.actualPort(), "/ws", Map.of(), receiveBufferBytes);
    clients.add(client);
    Served s = served.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(s).isNotNull();
    side[0] = s;
    return onLoop(
        s.context(),
        () -> {
          s.ws().setWriteQueueMaxSize(queueBytes);
          FlushBatching.install(s.ws());
          return new SocketConnection(s.ws(), 1 << 20, queueBytes, shared, () -> {});
        });
  }

  private static Object loopOf(Served side) {
    return ((ContextInternal) side.context()).nettyEventLoop();
  }

  private RawWebSocket client(int i) {
    return clients.get(i);
  }

  private static <T> T onLoop(Context context, Supplier<T> task) throws Exception {
    CompletableFuture<T> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            done.complete(task.get());
          } catch (RuntimeException | AssertionError e) {
            done.completeExceptionally(e);
          }
        });
    return done.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private static byte[] json(String text) {
    return ("{\"type\":\"message\",\"text\":\"" + text + "\"}").getBytes(UTF_8);
  }

  @Test
  @DisplayName(
      "shared frames reach every socket as text frames, in order with the frames, pings and close"
          + " written around them")
  void orderWithOtherWrites() throws Exception {
    Served[] a = new Served[1];
    Served[] b = new Served[1];
    SocketConnection first = connect(0, QUEUE_BYTES, a);
    SocketConnection second = connect(0, QUEUE_BYTES, b);
    // One loop writes both, as the hub fans out on one loop.
    assertThat(loopOf(b[0])).isSameAs(loopOf(a[0]));
    byte[] message = json("m".repeat(200));
    byte[] presence = json("p");
    byte[] after = json("after close");
    onLoop(
        a[0].context(),
        () -> {
          for (SocketConnection c : List.of(first, second)) {
            c.send(json("welcome"));
            c.sendShared(message);
            c.ping();
            c.sendShared(presence);
            c.send(json("ack"));
            c.close(CloseCode.SHUTTING_DOWN);
            c.sendShared(after);
          }
          assertThat(first.writesRawFrames()).isTrue();
          assertThat(second.writesRawFrames()).isTrue();
          return null;
        });

    for (RawWebSocket client : clients) {
      assertThat(text(client.readFrame(WAIT))).isEqualTo(json("welcome"));
      assertThat(text(client.readFrame(WAIT))).isEqualTo(message);
      assertThat(client.readFrame(WAIT).opcode()).isEqualTo(RawWebSocket.PING);
      assertThat(text(client.readFrame(WAIT))).isEqualTo(presence);
      assertThat(text(client.readFrame(WAIT))).isEqualTo(json("ack"));
      assertThat(client.awaitClose(WAIT)).isEqualTo(CloseCode.SHUTTING_DOWN.code());
      assertThat(client.tcpClosed(WAIT)).isTrue();
      assertThat(client.pollFrame(Duration.ZERO)).as("nothing after the close frame").isNull();
    }
  }

  /** The payload of a final text frame. */
  private static byte[] text(Frame frame) {
    assertThat(frame.opcode()).isEqualTo(RawWebSocket.TEXT);
    assertThat(frame.fin()).isTrue();
    return frame.payload();
  }

  @Test
  @DisplayName("a shared frame counts against the write queue as the same frame written one by one")
  void writeQueueCountsTheFrame() throws Exception {
    Served[] a = new Served[1];
    SocketConnection conn = connect(0, QUEUE_BYTES, a);
    long[] small = counted(a[0], conn, json("s".repeat(300)));
    assertThat(small[0]).isEqualTo(small[1]);
    // Over 1,024 bytes Netty's encoder writes header and payload as two buffers, one entry more.
    byte[] big = json("b".repeat(4_000));
    long[] large = counted(a[0], conn, big);
    assertThat(large[0]).isGreaterThanOrEqualTo(4L + big.length).isLessThan(large[1]);
  }

  /**
   * The bytes that wait in the channel's outbound buffer after {@code frame} was written shared,
   * and after it was written the normal way, both in one turn of the loop (the flush is deferred
   * past it, so nothing has left yet).
   */
  private static long[] counted(Served side, SocketConnection conn, byte[] frame) throws Exception {
    return onLoop(
        side.context(),
        () -> {
          ChannelOutboundBuffer buffer =
              ((WebSocketInternal) side.ws())
                  .channelHandlerContext()
                  .channel()
                  .unsafe()
                  .outboundBuffer();
          long before = buffer.totalPendingWriteBytes();
          conn.sendShared(frame);
          long shared = buffer.totalPendingWriteBytes() - before;
          conn.send(frame);
          long normal = buffer.totalPendingWriteBytes() - before - shared;
          assertThat(conn.writesRawFrames()).isTrue();
          return new long[] {shared, normal};
        });
  }

  @Test
  @DisplayName(
      "a socket that stops reading fills its write queue with shared frames, and gets every one"
          + " intact once it reads again, as does the socket that kept reading")
  void slowReaderAndFastReader() throws Exception {
    Served[] slowSide = new Served[1];
    Served[] fastSide = new Served[1];
    SocketConnection slow = connect(4 * 1024, QUEUE_BYTES, slowSide);
    SocketConnection fast = connect(0, 256 * QUEUE_BYTES, fastSide);
    assertThat(loopOf(fastSide[0])).isSameAs(loopOf(slowSide[0]));
    client(0).pauseReading();

    List<byte[]> written = new ArrayList<>();
    boolean full = false;
    // 20 MB at most: far past the 64 KiB queue and any kernel buffer on loopback.
    while (!full && written.size() < 5_000) {
      List<byte[]> batch = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        batch.add(json(written.size() + i + "-" + "x".repeat(4_000)));
      }
      full =
          onLoop(
              slowSide[0].context(),
              () -> {
                for (byte[] frame : batch) {
                  slow.sendShared(frame);
                  fast.sendShared(frame);
                }
                return slow.writeQueueFull();
              });
      written.addAll(batch);
    }
    assertThat(full).as("the write queue filled up").isTrue();
    assertThat(onLoop(fastSide[0].context(), fast::writeQueueFull)).isFalse();

    client(0).resumeReading();
    for (RawWebSocket client : clients) {
      for (byte[] frame : written) {
        assertThat(text(client.readFrame(WAIT))).isEqualTo(frame);
      }
    }
  }
}
