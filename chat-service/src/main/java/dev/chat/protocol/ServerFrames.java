package dev.chat.protocol;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Encodes every frame the service sends as UTF-8 JSON, with the field order the contract shows. */
public final class ServerFrames {

  /**
   * The answer to a client {@code ping}. Shared to avoid an allocation per ping: never mutate it.
   */
  public static final byte[] PONG = ascii("{\"type\":\"pong\"}");

  // Jackson's UTF-8 generator writes a character outside the BMP as two escaped surrogates (12
  // bytes, not 4). Its COMBINE_UNICODE_SURROGATES_IN_UTF8 option would be shorter, but in 2.18 it
  // silently merges an unpaired surrogate with the next character, corrupting text, so it stays
  // off.
  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] REDELIVERED = ascii(",\"redelivered\":true");

  private ServerFrames() {}

  public static byte[] welcome(
      String user,
      String connId,
      String node,
      long heartbeatIntervalMs,
      long heartbeatTimeoutMs,
      long ackTimeoutMs) {
    return object(
        g -> {
          g.writeStringField("type", "welcome");
          g.writeStringField("user", user);
          g.writeStringField("connId", connId);
          g.writeStringField("node", node);
          g.writeObjectFieldStart("heartbeat");
          g.writeNumberField("intervalMs", heartbeatIntervalMs);
          g.writeNumberField("timeoutMs", heartbeatTimeoutMs);
          g.writeEndObject();
          g.writeNumberField("ackTimeoutMs", ackTimeoutMs);
        });
  }

  /**
   * {@code usersTruncated} appears only when true, so the common frame stays as the contract shows
   * it.
   */
  public static byte[] joined(
      String room,
      String epoch,
      long seq,
      int online,
      List<String> users,
      boolean usersTruncated,
      boolean recovered) {
    return joined(room, epoch, seq, online, users, usersTruncated, recovered, null);
  }

  /**
   * The {@code joined} frame with {@code read} (v1.1), the read positions of the listed users (and
   * for an inbox, of the users who have seen its owner's messages); omitted when null.
   */
  public static byte[] joined(
      String room,
      String epoch,
      long seq,
      int online,
      List<String> users,
      boolean usersTruncated,
      boolean recovered,
      Map<String, Long> read) {
    return object(
        g -> {
          g.writeStringField("type", "joined");
          g.writeStringField("room", room);
          g.writeStringField("epoch", epoch);
          g.writeNumberField("seq", seq);
          g.writeNumberField("online", online);
          g.writeArrayFieldStart("users");
          for (String user : users) {
            g.writeString(user);
          }
          g.writeEndArray();
          if (usersTruncated) {
            g.writeBooleanField("usersTruncated", true);
          }
          g.writeBooleanField("recovered", recovered);
          if (read != null) {
            g.writeObjectFieldStart("read");
            for (Map.Entry<String, Long> e : read.entrySet()) {
              g.writeNumberField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
          }
        });
  }

  public static byte[] left(String room) {
    return object(
        g -> {
          g.writeStringField("type", "left");
          g.writeStringField("room", room);
        });
  }

  /** The answer to a {@code send} or {@code dm}, once the message is stored and published. */
  public static byte[] sendAck(String id, String room, long seq, long ts) {
    return object(
        g -> {
          g.writeStringField("type", "ack");
          g.writeStringField("id", id);
          g.writeStringField("room", room);
          g.writeNumberField("seq", seq);
          g.writeNumberField("ts", ts);
        });
  }

  /** A stored message; {@code to} is set only for direct messages and omitted when null. */
  public static byte[] message(
      String room, long seq, String id, String from, String text, String to, long ts) {
    return message(room, seq, id, from, null, 0, text, to, ts);
  }

  /**
   * A stored message that names its target (v1.1): {@code targetField} is {@code "edits"} or {@code
   * "deletes"} (null: a plain message) and {@code text} is null for a delete.
   */
  public static byte[] message(
      String room,
      long seq,
      String id,
      String from,
      String targetField,
      long target,
      String text,
      String to,
      long ts) {
    return object(
        g -> {
          g.writeStringField("type", "message");
          g.writeStringField("room", room);
          g.writeNumberField("seq", seq);
          g.writeStringField("id", id);
          g.writeStringField("from", from);
          if (targetField != null) {
            g.writeNumberField(targetField, target);
          }
          if (text != null) {
            g.writeStringField("text", text);
          }
          if (to != null) {
            g.writeStringField("to", to);
          }
          g.writeNumberField("ts", ts);
        });
  }

  /**
   * The {@link #message} frame with its {@code seq} and {@code ts} left open, for the broker to
   * fill in.
   */
  public static MessageTemplate messageTemplate(
      String room, String id, String from, String text, String to) {
    return messageTemplate(room, id, from, null, 0, text, to);
  }

  /** The template of the v1.1 {@link #message} that names its target; see there. */
  public static MessageTemplate messageTemplate(
      String room,
      String id,
      String from,
      String targetField,
      long target,
      String text,
      String to) {
    String head = "{\"type\":\"message\",\"room\":" + quoted(room) + ",\"seq\":";
    String mid =
        ",\"id\":"
            + quoted(id)
            + ",\"from\":"
            + quoted(from)
            + (targetField == null ? "" : ",\"" + targetField + "\":" + target)
            + (text == null ? "" : ",\"text\":" + quoted(text))
            + (to == null ? "" : ",\"to\":" + quoted(to))
            + ",\"ts\":";
    return new MessageTemplate(head, mid);
  }

  public static byte[] presence(String room, String event, String user, int online) {
    return object(
        g -> {
          g.writeStringField("type", "presence");
          g.writeStringField("room", room);
          g.writeStringField("event", event);
          g.writeStringField("user", user);
          g.writeNumberField("online", online);
        });
  }

  /**
   * The answer to a {@code history} frame: the stored {@code messages} spliced in as they are,
   * oldest first. {@code before} is echoed when the request had one.
   */
  public static byte[] history(
      String room, String epoch, Long before, List<byte[]> messages, boolean more) {
    // UTF-8: an inbox's name carries a user id, which may be any Unicode letter.
    byte[] head =
        ("{\"type\":\"history\",\"room\":"
                + quoted(room)
                + ",\"epoch\":"
                + quoted(epoch)
                + (before == null ? "" : ",\"before\":" + before)
                + ",\"messages\":[")
            .getBytes(StandardCharsets.UTF_8);
    byte[] tail = ascii("],\"more\":" + more + "}");
    int size = head.length + tail.length + Math.max(0, messages.size() - 1);
    for (byte[] m : messages) {
      size += m.length;
    }
    byte[] out = new byte[size];
    System.arraycopy(head, 0, out, 0, head.length);
    int at = head.length;
    for (int i = 0; i < messages.size(); i++) {
      if (i > 0) {
        out[at++] = ',';
      }
      byte[] m = messages.get(i);
      System.arraycopy(m, 0, out, at, m.length);
      at += m.length;
    }
    System.arraycopy(tail, 0, out, at, tail.length);
    return out;
  }

  /** A member of {@code room} is typing (v1.1). */
  public static byte[] typing(String room, String user) {
    return object(
        g -> {
          g.writeStringField("type", "typing");
          g.writeStringField("room", room);
          g.writeStringField("user", user);
        });
  }

  /** {@code user} has read {@code room} up to {@code seq} (v1.1). */
  public static byte[] read(String room, String user, long seq) {
    return object(
        g -> {
          g.writeStringField("type", "read");
          g.writeStringField("room", room);
          g.writeStringField("user", user);
          g.writeNumberField("seq", seq);
        });
  }

  /** An error frame; {@code id} (nullable) names the {@code send} or {@code dm} it answers. */
  public static byte[] error(ErrorCode code, String message, String id) {
    return object(g -> errorFields(g, code, message, id));
  }

  /** The {@code bad_request} answer to a frame the codec rejected. */
  public static byte[] badRequest(Decoded.Invalid invalid) {
    return error(ErrorCode.BAD_REQUEST, invalid.message(), invalid.id());
  }

  public static byte[] rateLimited(String message, String id, long retryAfterMs) {
    return object(
        g -> {
          errorFields(g, ErrorCode.RATE_LIMITED, message, id);
          g.writeNumberField("retryAfterMs", retryAfterMs);
        });
  }

  public static byte[] unavailable(String message, String id) {
    return object(
        g -> {
          errorFields(g, ErrorCode.UNAVAILABLE, message, id);
          g.writeBooleanField("retryable", true);
        });
  }

  /** A copy of a {@code message} frame with {@code "redelivered":true} added as its last field. */
  public static byte[] redelivered(byte[] messageFrame) {
    int end = messageFrame.length - 1;
    if (end < 2 || messageFrame[end] != '}') {
      throw new IllegalArgumentException("not a non-empty JSON object frame");
    }
    byte[] copy = new byte[messageFrame.length + REDELIVERED.length];
    System.arraycopy(messageFrame, 0, copy, 0, end);
    System.arraycopy(REDELIVERED, 0, copy, end, REDELIVERED.length);
    copy[copy.length - 1] = '}';
    return copy;
  }

  /**
   * A message frame split around its {@code seq} and {@code ts}: {@code head + seq + mid + ts +
   * "}"} is exactly {@link #message}'s output, so a Redis script can splice in the numbers it
   * assigns.
   */
  public record MessageTemplate(String head, String mid) {}

  private static void errorFields(JsonGenerator g, ErrorCode code, String message, String id)
      throws IOException {
    g.writeStringField("type", "error");
    g.writeStringField("code", code.wire());
    g.writeStringField("message", message);
    if (id != null) {
      g.writeStringField("id", id);
    }
  }

  /**
   * One JSON string literal, escaped by the same generator as whole frames so the two always agree.
   */
  private static String quoted(String value) {
    return new String(write(g -> g.writeString(value)), StandardCharsets.UTF_8);
  }

  private static byte[] object(Fields fields) {
    return write(
        g -> {
          g.writeStartObject();
          fields.write(g);
          g.writeEndObject();
        });
  }

  private static byte[] write(Fields content) {
    ByteArrayBuilder out = new ByteArrayBuilder(128);
    try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
      content.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return out.toByteArray();
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @FunctionalInterface
  private interface Fields {
    void write(JsonGenerator g) throws IOException;
  }
}
