package dev.chat.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.chat.protocol.ClientFrame.Ack;
import dev.chat.protocol.ClientFrame.Delete;
import dev.chat.protocol.ClientFrame.Dm;
import dev.chat.protocol.ClientFrame.Edit;
import dev.chat.protocol.ClientFrame.History;
import dev.chat.protocol.ClientFrame.Join;
import dev.chat.protocol.ClientFrame.Leave;
import dev.chat.protocol.ClientFrame.Ping;
import dev.chat.protocol.ClientFrame.Read;
import dev.chat.protocol.ClientFrame.Send;
import dev.chat.protocol.ClientFrame.Typing;
import dev.chat.protocol.Decoded.Invalid;
import dev.chat.protocol.Decoded.Parsed;
import java.io.IOException;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Decodes one client JSON frame into a {@link ClientFrame}, turning every flaw into an {@link
 * Invalid} value.
 */
public final class ClientCodec {

  public static final int MAX_TEXT = 4000;
  public static final int MAX_ID = 64;
  public static final int HISTORY_LIMIT_MAX = 100;
  public static final int HISTORY_LIMIT_DEFAULT = 50;
  private static final int MAX_TYPE_ECHO = 32;

  static final Invalid MALFORMED = new Invalid("malformed JSON", null);
  static final Invalid MISSING_TYPE = new Invalid("missing type", null);
  static final String ROOM_RULE = "room must be 1-64 characters of A-Z a-z 0-9 _ . - or @<user>";
  static final String TO_RULE = "to must be a valid user id";
  static final String ID_RULE = "id must be 1-64 characters with no control characters";
  static final String EPOCH_RULE = "epoch must be 1-64 characters with no control characters";
  static final String TEXT_BLANK = "text must not be blank";
  static final String TEXT_TOO_LONG = "text must be at most 4000 characters";
  static final String SINCE_RULE = "since must be a non-negative integer";
  static final String SEQ_RULE = "seq must be a non-negative integer";
  static final String BEFORE_RULE = "before must be a non-negative integer";
  static final String LIMIT_RULE = "limit must be an integer from 1 to 100";
  static final String TARGET_RULE = "seq must be a positive integer (the target message)";

  // Stands for a field that was present but of the wrong JSON type (or a negative or huge integer).
  private static final Object WRONG = new Object();
  // Jackson's defaults already cap nesting depth (1000) and number length, so hostile input ends in
  // an exception we catch, never in a stack overflow or a huge allocation.
  private static final JsonFactory JSON = new JsonFactory();

  private ClientCodec() {}

  /**
   * Decodes a text frame (the socket's reader has already refused what is not UTF-8); never throws.
   */
  public static Decoded decode(String json) {
    if (json == null) {
      return MALFORMED;
    }
    Ack ack = AckScanner.scan(json);
    return ack != null ? new Parsed(ack) : parseWithJackson(json);
  }

  /** {@link #decode(String)} without the ack fast path, which must agree with it. */
  static Decoded parseWithJackson(String json) {
    try (JsonParser parser = JSON.createParser(json)) {
      return decode(parser);
    } catch (Exception e) {
      return MALFORMED;
    }
  }

  private static Decoded decode(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      return MALFORMED;
    }
    Fields f = new Fields();
    // Jackson enforces the object's structure: the only tokens here are field names and END_OBJECT.
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      switch (name) {
        case "type" -> f.type = string(p, value);
        case "room" -> f.room = string(p, value);
        case "epoch" -> f.epoch = string(p, value);
        case "since" -> f.since = naturalNumber(p, value);
        case "id" -> f.id = string(p, value);
        case "text" -> f.text = string(p, value);
        case "to" -> f.to = string(p, value);
        case "seq" -> f.seq = naturalNumber(p, value);
        case "before" -> f.before = naturalNumber(p, value);
        case "limit" -> f.limit = naturalNumber(p, value);
        default -> p.skipChildren();
      }
    }
    if (p.nextToken() != null) {
      return MALFORMED; // trailing content after the object
    }
    return frame(f);
  }

  private static Decoded frame(Fields f) {
    if (!(f.type instanceof String type)) {
      return MISSING_TYPE;
    }
    return switch (type) {
      case "join" ->
          result(
              () -> new Join((String) f.room, (String) f.epoch, (Long) f.since),
              null,
              room(f.room),
              optional("epoch", f.epoch, ClientCodec::isId, EPOCH_RULE),
              f.since == WRONG ? SINCE_RULE : null);
      case "leave" -> result(() -> new Leave((String) f.room), null, room(f.room));
      case "send" ->
          result(
              () -> new Send((String) f.room, (String) f.id, (String) f.text),
              echo(f.id),
              room(f.room),
              id(f.id),
              text(f.text));
      case "dm" ->
          result(
              () -> new Dm((String) f.to, (String) f.id, (String) f.text),
              echo(f.id),
              required("to", f.to, Names::isUserId, TO_RULE),
              id(f.id),
              text(f.text));
      case "ack" ->
          result(
              () -> new Ack((String) f.room, (Long) f.seq),
              null,
              room(f.room),
              f.seq == null ? "seq is required" : f.seq == WRONG ? SEQ_RULE : null);
      case "ping" -> new Parsed(new Ping());
      case "history" ->
          result(
              () ->
                  new History(
                      (String) f.room,
                      (Long) f.before,
                      f.limit == null ? HISTORY_LIMIT_DEFAULT : (int) (long) (Long) f.limit),
              null,
              room(f.room),
              f.before == WRONG ? BEFORE_RULE : null,
              f.limit == null || (f.limit instanceof Long n && n >= 1 && n <= HISTORY_LIMIT_MAX)
                  ? null
                  : LIMIT_RULE);
      case "typing" -> result(() -> new Typing((String) f.room), null, room(f.room));
      case "read" ->
          result(
              () -> new Read((String) f.room, (Long) f.seq),
              null,
              room(f.room),
              f.seq == null ? "seq is required" : f.seq == WRONG ? SEQ_RULE : null);
      case "edit" ->
          result(
              () -> new Edit((String) f.room, (Long) f.seq, (String) f.id, (String) f.text),
              echo(f.id),
              room(f.room),
              target(f.seq),
              id(f.id),
              text(f.text));
      case "delete" ->
          result(
              () -> new Delete((String) f.room, (Long) f.seq, (String) f.id),
              echo(f.id),
              room(f.room),
              target(f.seq),
              id(f.id));
      default -> new Invalid("unknown type: " + truncate(type), null);
    };
  }

  /** The first problem found, else the frame, which is built only once every field has passed. */
  private static Decoded result(Supplier<ClientFrame> frame, String echoId, String... problems) {
    for (String problem : problems) {
      if (problem != null) {
        return new Invalid(problem, echoId);
      }
    }
    return new Parsed(frame.get());
  }

  private static String target(Object seq) {
    if (seq == null) {
      return "seq is required";
    }
    return seq instanceof Long n && n >= 1 ? null : TARGET_RULE;
  }

  static String room(Object value) {
    return required("room", value, Names::isRoom, ROOM_RULE);
  }

  static String id(Object value) {
    return required("id", value, ClientCodec::isId, ID_RULE);
  }

  private static String echo(Object id) {
    return id instanceof String s && isId(s) ? s : null;
  }

  static String text(Object value) {
    if (!(value instanceof String s)) {
      return required("text", value, x -> true, null); // absent or not a string
    }
    // A code point is one or two chars, so the exact count is only needed in between.
    if (s.length() > MAX_TEXT
        && (s.length() > 2 * MAX_TEXT || s.codePointCount(0, s.length()) > MAX_TEXT)) {
      return TEXT_TOO_LONG;
    }
    return isBlank(s) ? TEXT_BLANK : null;
  }

  static String required(String field, Object value, Predicate<String> valid, String rule) {
    if (value == null) {
      return field + " is required";
    }
    return optional(field, value, valid, rule);
  }

  private static String optional(String field, Object value, Predicate<String> valid, String rule) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof String s)) {
      return field + " must be a string";
    }
    return valid.test(s) ? null : rule;
  }

  /** 1–64 code points, none of them a control character or half of a surrogate pair. */
  static boolean isId(String s) {
    if (s.isEmpty() || s.length() > 2 * MAX_ID) {
      return false;
    }
    int count = 0;
    for (int i = 0; i < s.length(); count++) {
      int cp = s.codePointAt(i);
      // Unpaired surrogates have no UTF-8 form, so two distinct ids could collide once stored.
      if (Character.isISOControl(cp)
          || (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE)) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return count <= MAX_ID;
  }

  private static boolean isBlank(String s) {
    for (int i = 0; i < s.length(); ) {
      int cp = s.codePointAt(i);
      if (!Character.isWhitespace(cp) && !Character.isSpaceChar(cp)) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return true;
  }

  private static Object string(JsonParser p, JsonToken token) throws IOException {
    return switch (token) {
      case VALUE_STRING -> p.getText();
      case VALUE_NULL -> null; // JavaScript clients send null for "not set"
      default -> skip(p);
    };
  }

  /**
   * A non-negative integral JSON number that fits a long, as a Long; floats and strings are WRONG.
   */
  private static Object naturalNumber(JsonParser p, JsonToken token) throws IOException {
    if (token == JsonToken.VALUE_NULL) {
      return null;
    }
    if (token == JsonToken.VALUE_NUMBER_INT
        && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
      long value = p.getLongValue();
      return value >= 0 ? value : WRONG;
    }
    return skip(p);
  }

  private static Object skip(JsonParser p) throws IOException {
    p.skipChildren();
    return WRONG;
  }

  private static String truncate(String type) {
    if (type.length() <= MAX_TYPE_ECHO || type.codePointCount(0, type.length()) <= MAX_TYPE_ECHO) {
      return type;
    }
    return type.substring(0, type.offsetByCodePoints(0, MAX_TYPE_ECHO));
  }

  /**
   * The known fields of one frame as read: a String or Long, null when absent, or {@link #WRONG}.
   */
  private static final class Fields {
    Object type, room, epoch, since, id, text, to, seq, before, limit;
  }
}
