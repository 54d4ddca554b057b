package dev.chat.protocol;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Server frames")
class ServerFramesTest {

  static String text(byte[] frame) {
    return new String(frame, UTF_8);
  }

  static String q(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  @Test
  @DisplayName("welcome a connection with its identity, node and timings")
  void welcome() {
    byte[] frame = ServerFrames.welcome("alice", "c9f", "chat-7d9f-abc", 25000, 60000, 5000);
    assertThat(text(frame))
        .isEqualTo(
            q(
                "{'type':'welcome','user':'alice','connId':'c9f','node':'chat-7d9f-abc',"
                    + "'heartbeat':{'intervalMs':25000,'timeoutMs':60000},'ackTimeoutMs':5000}"));
    assertThat(new JsonObject(text(frame)).getJsonObject("heartbeat").getLong("timeoutMs"))
        .isEqualTo(60000L);
  }

  @Test
  @DisplayName(
      "confirm a join with the room's state, and flag truncated user lists only when truncated")
  void joined() {
    assertThat(
            text(
                ServerFrames.joined(
                    "general", "e-4f1a", 57, 3, List.of("alice", "bob", "carol"), false, true)))
        .isEqualTo(
            q(
                "{'type':'joined','room':'general','epoch':'e-4f1a','seq':57,'online':3,"
                    + "'users':['alice','bob','carol'],'recovered':true}"));
    assertThat(text(ServerFrames.joined("@bob", "e-1", 0, 1001, List.of("bob"), true, false)))
        .isEqualTo(
            q(
                "{'type':'joined','room':'@bob','epoch':'e-1','seq':0,'online':1001,"
                    + "'users':['bob'],'usersTruncated':true,'recovered':false}"));
    assertThat(
            new JsonObject(text(ServerFrames.joined("r", "e", 1, 0, List.of(), false, false)))
                .getJsonArray("users"))
        .isEqualTo(new JsonArray());
  }

  @Test
  @DisplayName("confirm a leave, a stored send, presence and pong")
  void simpleFrames() {
    assertThat(text(ServerFrames.left("general"))).isEqualTo(q("{'type':'left','room':'general'}"));
    assertThat(text(ServerFrames.sendAck("k3v9-0001", "general", 58, 1732350000000L)))
        .isEqualTo(
            q("{'type':'ack','id':'k3v9-0001','room':'general','seq':58,'ts':1732350000000}"));
    assertThat(text(ServerFrames.presence("general", "join", "bob", 4)))
        .isEqualTo(
            q("{'type':'presence','room':'general','event':'join','user':'bob','online':4}"));
    assertThat(text(ServerFrames.PONG)).isEqualTo(q("{'type':'pong'}"));
  }

  @Test
  @DisplayName("deliver a message, with 'to' only for direct messages")
  void message() {
    assertThat(
            text(
                ServerFrames.message(
                    "general", 58, "k3v9-0001", "alice", "hello", null, 1732350000000L)))
        .isEqualTo(
            q(
                "{'type':'message','room':'general','seq':58,'id':'k3v9-0001','from':'alice',"
                    + "'text':'hello','ts':1732350000000}"));
    assertThat(text(ServerFrames.message("@alice", 3, "k3v9-0002", "alice", "hi bob", "bob", 1L)))
        .isEqualTo(
            q(
                "{'type':'message','room':'@alice','seq':3,'id':'k3v9-0002','from':'alice',"
                    + "'text':'hi bob','to':'bob','ts':1}"));
  }

  @Test
  @DisplayName("escape text so that any string survives a JSON round trip")
  void escapesText() {
    String tricky =
        "\"quoted\" \\back\\slash\\ \n\r\t\u0000\u001f\u007f </script> \u2028\u2029 \u00e9 "
            + "\uD83D\uDE00 \uD835\uDC9C lone\uD800 \uDC00end";
    JsonObject message =
        new JsonObject(text(ServerFrames.message("r", 1, tricky, "alice", tricky, tricky, 2)));
    assertThat(message.getString("text")).isEqualTo(tricky);
    assertThat(message.getString("id")).isEqualTo(tricky);
    assertThat(message.getString("to")).isEqualTo(tricky);
    assertThat(text(ServerFrames.left("a\"b")))
        .isEqualTo("{\"type\":\"left\",\"room\":\"a\\\"b\"}");
  }

  @Test
  @DisplayName("report errors with code, message, the answered id, and retry hints")
  void errors() {
    assertThat(
            text(ServerFrames.error(ErrorCode.BAD_REQUEST, "text must not be blank", "k3v9-0003")))
        .isEqualTo(
            q(
                "{'type':'error','code':'bad_request','message':'text must not be blank','id':'k3v9-0003'}"));
    assertThat(text(ServerFrames.error(ErrorCode.FORBIDDEN, "not your inbox", null)))
        .isEqualTo(q("{'type':'error','code':'forbidden','message':'not your inbox'}"));
    assertThat(text(ServerFrames.rateLimited("slow down", "k1", 1500)))
        .isEqualTo(
            q(
                "{'type':'error','code':'rate_limited','message':'slow down','id':'k1','retryAfterMs':1500}"));
    assertThat(text(ServerFrames.rateLimited("slow down", null, 10)))
        .isEqualTo(
            q("{'type':'error','code':'rate_limited','message':'slow down','retryAfterMs':10}"));
    assertThat(text(ServerFrames.unavailable("broker unreachable", "k2")))
        .isEqualTo(
            q(
                "{'type':'error','code':'unavailable','message':'broker unreachable','id':'k2','retryable':true}"));
    assertThat(text(ServerFrames.unavailable("broker unreachable", null)))
        .isEqualTo(
            q(
                "{'type':'error','code':'unavailable','message':'broker unreachable','retryable':true}"));
  }

  @Test
  @DisplayName("answer a rejected frame with bad_request, echoing the id the codec kept")
  void badRequest() {
    Decoded decoded =
        ClientCodec.decode(q("{'type':'send','room':'r','id':'k3v9-0003','text':' '}"));
    assertThat(text(ServerFrames.badRequest((Decoded.Invalid) decoded)))
        .isEqualTo(
            q(
                "{'type':'error','code':'bad_request','message':'text must not be blank','id':'k3v9-0003'}"));
    assertThat(text(ServerFrames.badRequest((Decoded.Invalid) ClientCodec.decode("["))))
        .isEqualTo(q("{'type':'error','code':'bad_request','message':'malformed JSON'}"));
  }

  @Test
  @DisplayName("mark a redelivered message as the last field, leaving the original untouched")
  void redelivered() {
    byte[] original = ServerFrames.message("general", 58, "k1", "alice", "h\u00e9llo }", "bob", 7);
    byte[] before = original.clone();
    byte[] again = ServerFrames.redelivered(original);
    assertThat(original).isEqualTo(before);
    String frame = text(original);
    assertThat(text(again))
        .isEqualTo(frame.substring(0, frame.length() - 1) + ",\"redelivered\":true}");
    JsonObject parsed = new JsonObject(text(again));
    assertThat(parsed.remove("redelivered")).isEqualTo(true);
    assertThat(parsed).isEqualTo(new JsonObject(text(original)));
    assertThatThrownBy(() -> ServerFrames.redelivered("[]".getBytes(UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ServerFrames.redelivered("{}".getBytes(UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ServerFrames.redelivered("[1,2]".getBytes(UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
