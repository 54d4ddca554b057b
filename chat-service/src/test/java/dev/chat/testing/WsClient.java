package dev.chat.testing;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A well-behaved JSON WebSocket client for tests, on the JDK's {@link WebSocket}: it answers server
 * pings by itself and reassembles fragmented messages.
 *
 * <p>The first text frame is held apart as the {@link #welcome()}; every later one is parsed into a
 * {@link JsonObject} and queued for {@link #next}, {@link #await} and {@link #drain}, which consume
 * it. A frame that is not a JSON object is queued as {@code {"type":"!not-json","text":…}} so a
 * test sees it instead of losing it. Every wait is bounded; a wait that ends empty-handed throws
 * {@link AssertionError} saying what did arrive. Safe to use from several threads.
 */
public final class WsClient implements AutoCloseable {

  /** Status reported when the connection ended without a close frame (RFC 6455 §7.1.5). */
  public static final int ABNORMAL_CLOSURE = 1006;

  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration WELCOME_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration DRAIN_LIMIT = Duration.ofSeconds(30);
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final URI uri;
  private final LinkedBlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
  private final CompletableFuture<JsonObject> welcome = new CompletableFuture<>();
  private final CompletableFuture<Integer> closeStatus = new CompletableFuture<>();
  private volatile Throwable error;
  private WebSocket socket;
  private boolean closedByUs;

  private WsClient(URI uri) {
    this.uri = uri;
  }

  /** Opens a WebSocket to {@code uri}; throws if the handshake fails or takes over 10 s. */
  public static WsClient connect(URI uri) {
    return connect(uri, Map.of());
  }

  /** As {@link #connect(URI)}, with extra handshake headers (for example {@code Origin}). */
  public static WsClient connect(URI uri, Map<String, String> headers) {
    WsClient client = new WsClient(uri);
    WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(HANDSHAKE_TIMEOUT);
    headers.forEach(builder::header);
    try {
      client.socket =
          builder
              .buildAsync(uri, client.new Listener())
              .get(HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return client;
    } catch (ExecutionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException refused) {
        throw new IllegalStateException(
            "handshake to " + uri + " refused with HTTP " + refused.getResponse().statusCode(),
            refused);
      }
      throw new IllegalStateException("cannot connect to " + uri, e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("no handshake answer from " + uri + " within " + HANDSHAKE_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * The HTTP status a handshake to {@code uri} got: 101 if it was accepted (the connection is then
   * closed at once), else the refusal's status such as 400, 401 or 403.
   */
  public static int handshakeStatus(URI uri) {
    return handshakeStatus(uri, Map.of());
  }

  public static int handshakeStatus(URI uri, Map<String, String> headers) {
    try {
      WsClient client = connect(uri, headers);
      client.close();
      return 101;
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof WebSocketHandshakeException refused) {
        return refused.getResponse().statusCode();
      }
      throw e;
    }
  }

  /** Sends {@code frame} as one text message. */
  public void send(JsonObject frame) {
    sendText(frame.encode());
  }

  /** Sends {@code text} as is, valid JSON or not. */
  public synchronized void sendText(String text) {
    // the JDK WebSocket rejects a send while the previous one is pending, hence the lock and wait
    try {
      socket.sendText(text, true).get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new UncheckedIOException(
          "send failed" + state(),
          e.getCause() instanceof IOException io ? io : new IOException(e.getCause()));
    } catch (TimeoutException e) {
      throw new AssertionError("send not written within " + SEND_TIMEOUT + state());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The first frame the server sent (normally {@code welcome}), waiting up to 10 s for it. */
  public JsonObject welcome() {
    try {
      return welcome.get(WELCOME_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("no first frame within " + WELCOME_TIMEOUT + state());
    } catch (ExecutionException e) {
      throw new AssertionError("connection ended before any frame" + state(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The next frame after the welcome. */
  public JsonObject next(Duration timeout) {
    JsonObject frame = poll(timeout);
    if (frame == null) {
      throw new AssertionError("no frame within " + timeout + state());
    }
    return frame;
  }

  /** The first frame whose {@code type} is {@code type}; frames before it are discarded. */
  public JsonObject await(String type, Duration timeout) {
    return awaitMatching(frame -> type.equals(frame.getString("type")), timeout, "type " + type);
  }

  /** The first frame matching {@code predicate}; frames before it are discarded. */
  public JsonObject awaitMatching(Predicate<JsonObject> predicate, Duration timeout) {
    return awaitMatching(predicate, timeout, "the predicate");
  }

  private JsonObject awaitMatching(Predicate<JsonObject> predicate, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<JsonObject> skipped = new ArrayList<>();
    while (true) {
      long left = deadline - System.nanoTime();
      JsonObject frame = left > 0 ? poll(Duration.ofNanos(left)) : frames.poll();
      if (frame == null) {
        throw new AssertionError(
            "no frame matching " + what + " within " + timeout + "; skipped " + skipped + state());
      }
      if (predicate.test(frame)) {
        return frame;
      }
      skipped.add(frame);
    }
  }

  /**
   * Every frame until none arrives for {@code quiet} (possibly none at all). Fails if frames keep
   * coming for 30 s, so a runaway stream cannot hang a test.
   */
  public List<JsonObject> drain(Duration quiet) {
    long limit = System.nanoTime() + DRAIN_LIMIT.toNanos();
    List<JsonObject> drained = new ArrayList<>();
    JsonObject frame;
    while ((frame = poll(quiet)) != null) {
      drained.add(frame);
      if (System.nanoTime() > limit) {
        throw new AssertionError(
            "frames still arriving after " + DRAIN_LIMIT + ": " + drained.size());
      }
    }
    return drained;
  }

  /**
   * The status code of the server's close frame, waiting up to {@code timeout}; {@value
   * #ABNORMAL_CLOSURE} if the connection broke without one.
   */
  public int awaitClose(Duration timeout) {
    try {
      return closeStatus.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("connection still open after " + timeout + "; unread " + frames);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** True once the connection is closed, by either side or broken. */
  public synchronized boolean isClosed() {
    return closedByUs || closeStatus.isDone();
  }

  /** Drops the TCP connection without a close frame, like a client that lost its network. */
  public synchronized void abort() {
    closedByUs = true;
    socket.abort();
  }

  /** Closes with 1000 and waits briefly (2 s) for the server's answer; idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (isClosed()) {
        socket.abort();
        return;
      }
      closedByUs = true;
      try {
        socket
            .sendClose(WebSocket.NORMAL_CLOSURE, "")
            .get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | TimeoutException e) {
        // the output is already closed or stuck; abort below
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      closeStatus.get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // the server did not answer the close in time; the abort frees the socket anyway
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      socket.abort();
    }
  }

  private JsonObject poll(Duration timeout) {
    try {
      return frames.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private String state() {
    StringBuilder s = new StringBuilder("; ").append(uri);
    if (closeStatus.isDone()) {
      s.append(" closed with ").append(closeStatus.getNow(null));
    }
    if (error != null) {
      s.append(" after error ").append(error);
    }
    return s.toString();
  }

  private void deliver(String text) {
    JsonObject frame;
    try {
      frame = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      frame = new JsonObject().put("type", "!not-json").put("text", text);
    }
    if (!welcome.complete(frame)) {
      frames.add(frame);
    }
  }

  /** Runs on the HttpClient's threads; one callback at a time, as the JDK guarantees. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder message = new StringBuilder();

    @Override
    public void onOpen(WebSocket webSocket) {
      webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      message.append(data);
      if (last) {
        String text = message.toString();
        message.setLength(0);
        deliver(text);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
      if (last) {
        frames.add(new JsonObject().put("type", "!binary"));
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
      // the JDK sends the pong itself
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
      webSocket.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      // returning null lets the JDK echo the close frame, completing the closing handshake
      closeStatus.complete(statusCode);
      welcome.completeExceptionally(
          new IllegalStateException("closed with " + statusCode + " " + reason));
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable failure) {
      error = failure;
      closeStatus.complete(ABNORMAL_CLOSURE);
      welcome.completeExceptionally(failure);
    }
  }
}
