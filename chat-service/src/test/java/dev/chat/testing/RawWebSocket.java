package dev.chat.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare RFC 6455 client over a plain socket, for playing misbehaving clients: it sends whatever
 * frames it is told (binary, invalid UTF-8, odd fragments) and never answers a ping, so it can play
 * a dead client in heartbeat tests.
 *
 * <p>A daemon thread reads server frames into a queue as they come, so the server never blocks on a
 * full TCP window; {@link #readFrame} and {@link #awaitClose} take from that queue. To play a slow
 * consumer, {@link #pauseReading} stops that thread so the TCP window fills up (best with a small
 * receive buffer, see {@link #connect(String, int, String, Map, int)}); {@link #resumeReading} lets
 * it go on.
 */
public final class RawWebSocket implements AutoCloseable {

  public static final int CONTINUATION = 0x0;
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final int MAX_FRAME = 16 * 1024 * 1024;
  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** One server frame; {@code payload} is already unmasked. */
  @SuppressWarnings("ArrayRecordComponent") // a frame as read off the wire; tests read its payload
  public record Frame(int opcode, boolean fin, byte[] payload) {
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    /** The status code of a close frame; 1005 (no status) when its payload is empty. */
    public int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF) : 1005;
    }

    @Override
    public String toString() {
      String body = opcode == TEXT || opcode == CLOSE ? text() : payload.length + " bytes";
      return "Frame[opcode=" + opcode + ", fin=" + fin + ", " + body + "]";
    }
  }

  /** The server answered the upgrade request with something other than 101. */
  public static final class HandshakeRefused extends RuntimeException {
    private final int status;

    HandshakeRefused(int status, String statusLine) {
      super("handshake refused: " + statusLine);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final LinkedBlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
  private final CountDownLatch tcpClosed = new CountDownLatch(1);
  private final Map<String, String> responseHeaders;
  private final Object gate = new Object();
  private boolean paused; // guarded by gate
  private volatile boolean closed;

  private RawWebSocket(Socket socket, Map<String, String> responseHeaders) throws IOException {
    this.socket = socket;
    this.responseHeaders = Map.copyOf(responseHeaders);
    this.out = socket.getOutputStream();
  }

  /**
   * Connects and upgrades {@code GET <pathAndQuery>}; throws {@link HandshakeRefused} unless the
   * server answers 101 with the right {@code Sec-WebSocket-Accept}.
   */
  public static RawWebSocket connect(String host, int port, String pathAndQuery) {
    return connect(host, port, pathAndQuery, Map.of(), 0);
  }

  /** As {@link #connect(String, int, String)}, with extra request headers (e.g. {@code Origin}). */
  public static RawWebSocket connect(
      String host, int port, String pathAndQuery, Map<String, String> headers) {
    return connect(host, port, pathAndQuery, headers, 0);
  }

  /**
   * As {@link #connect(String, int, String, Map)}, with the socket's receive buffer set to {@code
   * receiveBufferBytes} before connecting (0 keeps the system's): a small one keeps the TCP window
   * small, so a paused reader fills it with little data.
   */
  public static RawWebSocket connect(
      String host,
      int port,
      String pathAndQuery,
      Map<String, String> headers,
      int receiveBufferBytes) {
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      if (receiveBufferBytes > 0) {
        socket.setReceiveBufferSize(receiveBufferBytes);
      }
      StringBuilder extra = new StringBuilder();
      headers.forEach(
          (name, value) -> extra.append(name).append(": ").append(value).append("\r\n"));
      socket.connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
      socket.setSoTimeout((int) CONNECT_TIMEOUT.toMillis());
      byte[] nonce = new byte[16];
      RANDOM.nextBytes(nonce);
      String key = Base64.getEncoder().encodeToString(nonce);
      String request =
          "GET "
              + pathAndQuery
              + " HTTP/1.1\r\n"
              + "Host: "
              + host
              + ":"
              + port
              + "\r\n"
              + "Upgrade: websocket\r\n"
              + "Connection: Upgrade\r\n"
              + "Sec-WebSocket-Key: "
              + key
              + "\r\n"
              + "Sec-WebSocket-Version: 13\r\n"
              + extra
              + "\r\n";
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();

      InputStream in = new BufferedInputStream(socket.getInputStream());
      String[] head = readHead(in).split("\r\n");
      String[] statusLine = head[0].split(" ", 3);
      int status = statusLine.length >= 2 ? Integer.parseInt(statusLine[1]) : -1;
      if (status != 101) {
        throw new HandshakeRefused(status, head[0]);
      }
      Map<String, String> responseHeaders = new HashMap<>();
      for (String header : Arrays.copyOfRange(head, 1, head.length)) {
        int colon = header.indexOf(':');
        if (colon > 0) {
          responseHeaders.put(
              header.substring(0, colon).trim().toLowerCase(Locale.ROOT),
              header.substring(colon + 1).trim());
        }
      }
      String accept = responseHeaders.get("sec-websocket-accept");
      if (!expectedAccept(key).equals(accept)) {
        throw new IllegalStateException("bad Sec-WebSocket-Accept: " + accept);
      }
      socket.setSoTimeout(0); // the reader thread blocks until the socket closes
      RawWebSocket ws = new RawWebSocket(socket, responseHeaders);
      ws.startReader(in);
      return ws;
    } catch (IOException e) {
      closeQuietly(socket);
      throw new UncheckedIOException(
          "cannot open a WebSocket to " + host + ":" + port + pathAndQuery, e);
    } catch (RuntimeException e) {
      closeQuietly(socket);
      throw e;
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0; // bytes of "\r\n\r\n" seen so far
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("connection closed during the handshake: " + head);
      }
      head.write(b);
      matched =
          (b == '\r' && (matched == 0 || matched == 2))
                  || (b == '\n' && (matched == 1 || matched == 3))
              ? matched + 1
              : 0;
      if (head.size() > 16 * 1024) {
        throw new IOException("handshake response head over 16 KiB");
      }
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  private static String expectedAccept(String key) {
    try {
      byte[] sha1 =
          MessageDigest.getInstance("SHA-1")
              .digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
      return Base64.getEncoder().encodeToString(sha1);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void startReader(InputStream in) {
    Thread reader =
        new Thread(
            () -> {
              DataInputStream data = new DataInputStream(in);
              try {
                while (true) {
                  awaitGate();
                  frames.add(readOne(data));
                }
              } catch (IOException | RuntimeException end) {
                // EOF, reset or closed by us: the TCP connection is over either way
              } finally {
                tcpClosed.countDown();
              }
            },
            "raw-websocket-reader-" + socket.getLocalPort());
    reader.setDaemon(true);
    reader.start();
  }

  private void awaitGate() throws IOException {
    synchronized (gate) {
      while (paused && !closed) {
        try {
          gate.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", e);
        }
      }
    }
  }

  /**
   * Stops reading from the socket: what the server sends piles up in the TCP buffers until the
   * window is full, as with a client that stopped reading. A frame already being read is finished.
   */
  public void pauseReading() {
    synchronized (gate) {
      paused = true;
    }
  }

  /** Reads again, starting with everything that piled up. */
  public void resumeReading() {
    synchronized (gate) {
      paused = false;
      gate.notifyAll();
    }
  }

  private static Frame readOne(DataInputStream in) throws IOException {
    int b0 = in.readUnsignedByte();
    int b1 = in.readUnsignedByte();
    boolean fin = (b0 & 0x80) != 0;
    int opcode = b0 & 0x0F;
    boolean masked = (b1 & 0x80) != 0;
    long length = b1 & 0x7F;
    if (length == 126) {
      length = in.readUnsignedShort();
    } else if (length == 127) {
      length = in.readLong();
    }
    if (length < 0 || length > MAX_FRAME) {
      throw new IOException("server frame of " + length + " bytes");
    }
    byte[] mask = new byte[4];
    if (masked) {
      in.readFully(mask);
    }
    byte[] payload = new byte[(int) length];
    in.readFully(payload);
    if (masked) {
      for (int i = 0; i < payload.length; i++) {
        payload[i] ^= mask[i & 3];
      }
    }
    return new Frame(opcode, fin, payload);
  }

  /** A header of the server's 101 answer (name case-insensitive), or null if it sent none. */
  public String responseHeader(String name) {
    return responseHeaders.get(name.toLowerCase(Locale.ROOT));
  }

  /** Sends one frame, masked with a random key as RFC 6455 requires of clients. */
  public synchronized void sendFrame(int opcode, boolean fin, byte[] payload) {
    ByteBuffer frame = ByteBuffer.allocate(14 + payload.length);
    frame.put((byte) ((fin ? 0x80 : 0) | (opcode & 0x0F)));
    if (payload.length < 126) {
      frame.put((byte) (0x80 | payload.length));
    } else if (payload.length <= 0xFFFF) {
      frame.put((byte) (0x80 | 126)).putShort((short) payload.length);
    } else {
      frame.put((byte) (0x80 | 127)).putLong(payload.length);
    }
    byte[] mask = new byte[4];
    RANDOM.nextBytes(mask);
    frame.put(mask);
    for (int i = 0; i < payload.length; i++) {
      frame.put((byte) (payload[i] ^ mask[i & 3]));
    }
    try {
      out.write(frame.array(), 0, frame.position());
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot send frame (opcode " + opcode + ")", e);
    }
  }

  public void sendText(String text) {
    sendFrame(TEXT, true, text.getBytes(StandardCharsets.UTF_8));
  }

  public void sendBinary(byte[] payload) {
    sendFrame(BINARY, true, payload);
  }

  /** A text frame holding {@code 0xC3 0x28}: a lead byte followed by a non-continuation byte. */
  public void sendInvalidUtf8() {
    sendFrame(TEXT, true, new byte[] {(byte) 0xC3, (byte) 0x28});
  }

  /**
   * {@code text} as one message in frames of {@code fragmentSize} bytes (a text frame, then
   * continuations); a fragment may end inside a multi-byte character, which the protocol allows.
   */
  public void sendFragmented(String text, int fragmentSize) {
    if (fragmentSize < 1) {
      throw new IllegalArgumentException("fragmentSize must be positive");
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int offset = 0;
    do {
      int end = Math.min(bytes.length, offset + fragmentSize);
      sendFrame(
          offset == 0 ? TEXT : CONTINUATION,
          end == bytes.length,
          Arrays.copyOfRange(bytes, offset, end));
      offset = end;
    } while (offset < bytes.length);
  }

  /** A close frame with {@code code} and {@code reason}. */
  public void sendClose(int code, String reason) {
    byte[] text = reason.getBytes(StandardCharsets.UTF_8);
    byte[] payload = new byte[2 + text.length];
    payload[0] = (byte) (code >> 8);
    payload[1] = (byte) code;
    System.arraycopy(text, 0, payload, 2, text.length);
    sendFrame(CLOSE, true, payload);
  }

  /** The next server frame of any kind, pings included; throws if none arrives in time. */
  public Frame readFrame(Duration timeout) {
    Frame frame = pollFrame(timeout);
    if (frame == null) {
      throw new AssertionError(
          "no frame within "
              + timeout
              + (tcpClosed.getCount() == 0 ? "; the connection is closed" : ""));
    }
    return frame;
  }

  /** The next server frame, or {@code null} if none arrives within {@code timeout}. */
  public Frame pollFrame(Duration timeout) {
    try {
      return frames.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Reads past data, ping and pong frames to the server's close frame and returns its status code
   * (1005 when it has none), or -1 if the connection ended without one. Answers the close frame, as
   * RFC 6455 §5.5.1 asks, so the server can end the TCP connection at once.
   */
  public int awaitClose(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Frame frame = frames.poll();
      if (frame == null) {
        if (tcpClosed.getCount() == 0) {
          // the reader may have queued a last frame just before it saw the end
          frame = frames.poll();
          if (frame == null) {
            return -1;
          }
        } else {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new AssertionError("no close frame within " + timeout);
          }
          frame = pollFrame(Duration.ofNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(20))));
          if (frame == null) {
            continue;
          }
        }
      }
      if (frame.opcode() == CLOSE) {
        try {
          sendFrame(
              CLOSE, true, Arrays.copyOf(frame.payload(), Math.min(2, frame.payload().length)));
        } catch (UncheckedIOException alreadyGone) {
          // the server may have closed the TCP connection right after its close frame
        }
        return frame.closeCode();
      }
    }
  }

  /** Whether the server ended the TCP connection within {@code timeout}. */
  public boolean tcpClosed(Duration timeout) {
    try {
      return tcpClosed.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Drops the TCP connection without a close frame. */
  @Override
  public void close() {
    closed = true;
    resumeReading();
    closeQuietly(socket);
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }
}
