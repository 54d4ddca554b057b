package dev.chat.testing;

import io.vertx.core.json.JsonObject;

/** The frames a client sends, as the protocol spells them (docs/protocol.md). */
public final class ClientFrames {

  private ClientFrames() {}

  public static JsonObject join(String room) {
    return new JsonObject().put("type", "join").put("room", room);
  }

  /** A join that resumes after {@code since} in {@code epoch}. */
  public static JsonObject resume(String room, String epoch, long since) {
    return join(room).put("epoch", epoch).put("since", since);
  }

  public static JsonObject leave(String room) {
    return new JsonObject().put("type", "leave").put("room", room);
  }

  public static JsonObject send(String room, String id, String text) {
    return new JsonObject().put("type", "send").put("room", room).put("id", id).put("text", text);
  }

  public static JsonObject dm(String to, String id, String text) {
    return new JsonObject().put("type", "dm").put("to", to).put("id", id).put("text", text);
  }

  /** A cumulative delivery ack: every message of {@code room} up to {@code seq}. */
  public static JsonObject ack(String room, long seq) {
    return new JsonObject().put("type", "ack").put("room", room).put("seq", seq);
  }
}
