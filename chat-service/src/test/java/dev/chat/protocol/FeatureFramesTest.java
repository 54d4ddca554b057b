package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The v1.1 frames, decoded and encoded")
class FeatureFramesTest {

  private static ClientFrame parsed(String json) {
    Decoded d = ClientCodec.decode(json);
    assertThat(d).as(json).isInstanceOf(Decoded.Parsed.class);
    return ((Decoded.Parsed) d).frame();
  }

  private static Decoded.Invalid invalid(String json) {
    Decoded d = ClientCodec.decode(json);
    assertThat(d).as(json).isInstanceOf(Decoded.Invalid.class);
    return (Decoded.Invalid) d;
  }

  private static JsonObject json(byte[] frame) {
    return new JsonObject(new String(frame, StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("history defaults its limit to 50 and refuses a limit outside 1-100 or a bad before")
  void history() {
    assertThat(parsed("{\"type\":\"history\",\"room\":\"r\"}"))
        .isEqualTo(new ClientFrame.History("r", null, 50));
    assertThat(parsed("{\"type\":\"history\",\"room\":\"r\",\"before\":41,\"limit\":100}"))
        .isEqualTo(new ClientFrame.History("r", 41L, 100));
    assertThat(invalid("{\"type\":\"history\",\"room\":\"r\",\"limit\":0}").message())
        .isEqualTo(ClientCodec.LIMIT_RULE);
    assertThat(invalid("{\"type\":\"history\",\"room\":\"r\",\"limit\":101}").message())
        .isEqualTo(ClientCodec.LIMIT_RULE);
    assertThat(invalid("{\"type\":\"history\",\"room\":\"r\",\"before\":-1}").message())
        .isEqualTo(ClientCodec.BEFORE_RULE);
    assertThat(invalid("{\"type\":\"history\"}").message()).isEqualTo("room is required");
  }

  @Test
  @DisplayName("typing and read need a room, read a non-negative seq")
  void typingAndRead() {
    assertThat(parsed("{\"type\":\"typing\",\"room\":\"r\"}"))
        .isEqualTo(new ClientFrame.Typing("r"));
    assertThat(parsed("{\"type\":\"read\",\"room\":\"@bob\",\"seq\":7}"))
        .isEqualTo(new ClientFrame.Read("@bob", 7));
    assertThat(invalid("{\"type\":\"read\",\"room\":\"r\"}").message())
        .isEqualTo("seq is required");
    assertThat(invalid("{\"type\":\"read\",\"room\":\"r\",\"seq\":1.5}").message())
        .isEqualTo(ClientCodec.SEQ_RULE);
  }

  @Test
  @DisplayName("edit and delete need a positive target seq and an id, which every error echoes")
  void editAndDelete() {
    assertThat(parsed("{\"type\":\"edit\",\"room\":\"r\",\"seq\":3,\"id\":\"k\",\"text\":\"x\"}"))
        .isEqualTo(new ClientFrame.Edit("r", 3, "k", "x"));
    assertThat(parsed("{\"type\":\"delete\",\"room\":\"r\",\"seq\":3,\"id\":\"k\"}"))
        .isEqualTo(new ClientFrame.Delete("r", 3, "k"));
    Decoded.Invalid zero = invalid("{\"type\":\"delete\",\"room\":\"r\",\"seq\":0,\"id\":\"k\"}");
    assertThat(zero.message()).isEqualTo(ClientCodec.TARGET_RULE);
    assertThat(zero.id()).isEqualTo("k");
    Decoded.Invalid blank =
        invalid("{\"type\":\"edit\",\"room\":\"r\",\"seq\":3,\"id\":\"k\",\"text\":\" \"}");
    assertThat(blank.message()).isEqualTo(ClientCodec.TEXT_BLANK);
    assertThat(blank.id()).isEqualTo("k");
    assertThat(invalid("{\"type\":\"edit\",\"room\":\"r\",\"id\":\"k\",\"text\":\"x\"}").message())
        .isEqualTo("seq is required");
  }

  @Test
  @DisplayName("an edit or delete message frame names its target, a delete has no text")
  void changeFrames() {
    JsonObject edit = json(ServerFrames.message("r", 9, "k", "ann", "edits", 3, "new", null, 5));
    assertThat(edit.getLong("edits")).isEqualTo(3L);
    assertThat(edit.getString("text")).isEqualTo("new");
    JsonObject delete =
        json(ServerFrames.message("r", 10, "k2", "ann", "deletes", 3, null, null, 6));
    assertThat(delete.getLong("deletes")).isEqualTo(3L);
    assertThat(delete.containsKey("text")).isFalse();
    // The Redis template spells exactly what the embedded broker encodes.
    ServerFrames.MessageTemplate t =
        ServerFrames.messageTemplate("r", "k2", "ann", "deletes", 3, null, null);
    assertThat(t.head() + 10 + t.mid() + 6 + "}")
        .isEqualTo(
            new String(
                ServerFrames.message("r", 10, "k2", "ann", "deletes", 3, null, null, 6),
                StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("a history answer splices the stored frames in as they are")
  void historyAnswer() {
    byte[] m1 = ServerFrames.message("@ünï", 1, "a", "ünï", "one", null, 1);
    byte[] m2 = ServerFrames.message("@ünï", 2, "b", "ünï", "two", null, 2);
    JsonObject page = json(ServerFrames.history("@ünï", "e-1", 3L, List.of(m1, m2), true));
    assertThat(page.getString("type")).isEqualTo("history");
    assertThat(page.getString("room")).isEqualTo("@ünï");
    assertThat(page.getLong("before")).isEqualTo(3L);
    assertThat(page.getJsonArray("messages").getJsonObject(1)).isEqualTo(json(m2));
    assertThat(page.getBoolean("more")).isTrue();
    JsonObject empty = json(ServerFrames.history("r", "e-1", null, List.of(), false));
    assertThat(empty.containsKey("before")).isFalse();
    assertThat(empty.getJsonArray("messages")).isEmpty();
  }

  @Test
  @DisplayName("joined carries read positions when given them")
  void joinedRead() {
    Map<String, Long> read = new LinkedHashMap<>();
    read.put("alice", 58L);
    JsonObject joined =
        json(ServerFrames.joined("r", "e", 60, 1, List.of("alice"), false, true, read));
    assertThat(joined.getJsonObject("read")).isEqualTo(new JsonObject().put("alice", 58));
    assertThat(
            json(ServerFrames.joined("r", "e", 60, 1, List.of(), false, true)).containsKey("read"))
        .isFalse();
  }
}
