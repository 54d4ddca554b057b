package dev.chat.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny blocking RESP2 client for tests: lets a test poke Redis behind the service's back ({@code
 * CLIENT KILL TYPE pubsub}, {@code FLUSHALL}, {@code LTRIM}, {@code PUBLISH}).
 *
 * <p>Replies map to {@code String} (simple and bulk strings), {@code Long}, {@code List<Object>}
 * and {@code null}; an error reply throws {@link RespException}. Every read is bounded by the
 * socket timeout (5 s). Calls are serialized, so one client may be shared between threads.
 */
public final class RespClient implements AutoCloseable {

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(5);

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  /** Thrown for a {@code -ERR ...} reply; the connection stays usable. */
  public static final class RespException extends RuntimeException {
    RespException(String message) {
      super(message);
    }
  }

  private RespClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream());
    this.out = new BufferedOutputStream(socket.getOutputStream());
  }

  /** Connects to {@code host:port}; throws {@link UncheckedIOException} if nothing listens. */
  public static RespClient connect(String host, int port) {
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
      socket.connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
      return new RespClient(socket);
    } catch (IOException e) {
      closeQuietly(socket);
      throw new UncheckedIOException("cannot connect to redis at " + host + ":" + port, e);
    }
  }

  /** Sends one command and returns its reply. */
  public synchronized Object call(String... args) {
    if (args.length == 0) {
      throw new IllegalArgumentException("a command needs at least its name");
    }
    try {
      ByteArrayOutputStream request = new ByteArrayOutputStream();
      request.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      for (String arg : args) {
        byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
        request.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        request.writeBytes(bytes);
        request.writeBytes(CRLF);
      }
      out.write(request.toByteArray());
      out.flush();
      return readReply();
    } catch (IOException e) {
      throw new UncheckedIOException("redis " + args[0] + " failed", e);
    }
  }

  /**
   * Reads the next reply without sending anything, e.g. a pushed message after {@code SUBSCRIBE}.
   * Returns {@code null} if none arrives within {@code timeout}; a timeout in the middle of a reply
   * leaves the connection unusable.
   */
  public synchronized Object read(Duration timeout) {
    try {
      socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
      in.mark(1);
      int first = in.read();
      if (first < 0) {
        throw new EOFException("redis closed the connection");
      }
      in.reset();
      return readReply();
    } catch (SocketTimeoutException e) {
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException("redis read failed", e);
    } finally {
      try {
        socket.setSoTimeout((int) READ_TIMEOUT.toMillis());
      } catch (IOException ignored) {
        // the socket is closed; the next call reports it
      }
    }
  }

  private static final byte[] CRLF = {'\r', '\n'};

  private Object readReply() throws IOException {
    int type = in.read();
    String line = readLine();
    return switch (type) {
      case '+' -> line;
      case '-' -> throw new RespException(line);
      case ':' -> Long.parseLong(line);
      case '$' -> {
        int length = Integer.parseInt(line);
        if (length < 0) {
          yield null;
        }
        byte[] bytes = in.readNBytes(length);
        if (bytes.length < length || in.read() != '\r' || in.read() != '\n') {
          throw new EOFException("redis closed the connection inside a bulk string");
        }
        yield new String(bytes, StandardCharsets.UTF_8);
      }
      case '*' -> {
        int count = Integer.parseInt(line);
        if (count < 0) {
          yield null;
        }
        List<Object> items = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          // an error inside an array (EXEC) is a value, not a failure of the whole reply
          try {
            items.add(readReply());
          } catch (RespException e) {
            items.add(e);
          }
        }
        yield items;
      }
      case -1 -> throw new EOFException("redis closed the connection");
      default -> throw new IOException("not a RESP2 reply type: " + (char) type);
    };
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("redis closed the connection inside a reply");
      }
      if (b == '\r') {
        if (in.read() != '\n') {
          throw new IOException("RESP line not terminated by CRLF");
        }
        return line.toString(StandardCharsets.UTF_8);
      }
      line.write(b);
    }
  }

  @Override
  public void close() {
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
