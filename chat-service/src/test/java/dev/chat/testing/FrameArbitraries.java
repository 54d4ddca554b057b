package dev.chat.testing;

import io.vertx.core.json.Json;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * jqwik generators of client frame text for property tests: JSON objects mixing the protocol's
 * fields (valid and invalid values of every JSON type) with unknown ones, and damaged copies.
 */
public final class FrameArbitraries {

  private static final List<String> TYPES = List.of("join", "leave", "send", "dm", "ack", "ping");
  private static final List<String> FIELDS =
      List.of("type", "room", "epoch", "since", "id", "text", "to", "seq");

  private FrameArbitraries() {}

  /** A JSON object (mostly well-formed) of 0–8 fields drawn from the protocol's and others. */
  public static Arbitrary<String> jsonFrames() {
    Arbitrary<String> field =
        fieldNames().flatMap(name -> values(name).map(v -> Json.encode(name) + ":" + v));
    // the type first most of the time, so most frames get past the type check
    Arbitrary<String> type =
        Arbitraries.frequencyOf(
            Tuple.of(8, Arbitraries.of(TYPES).map(t -> "\"type\":\"" + t + "\",")),
            Tuple.of(2, Arbitraries.just("")));
    return Combinators.combine(type, field.list().ofMaxSize(8))
        .as((t, fields) -> "{" + t + String.join(",", fields) + "}")
        .map(json -> json.replace(",}", "}"));
  }

  /**
   * {@code frames} damaged: cut short, a character inserted or removed, or a byte's bits flipped.
   */
  public static Arbitrary<String> damaged(Arbitrary<String> frames) {
    return Combinators.combine(
            frames,
            Arbitraries.integers().between(0, 3),
            Arbitraries.integers().between(0, 10_000),
            Arbitraries.chars())
        .as(
            (json, how, where, c) -> {
              int at = json.isEmpty() ? 0 : where % json.length();
              return switch (how) {
                case 0 -> json.substring(0, at);
                case 1 -> json.substring(0, at) + c + json.substring(at);
                case 2 -> json.isEmpty() ? json : json.substring(0, at) + json.substring(at + 1);
                default ->
                    json.isEmpty()
                        ? json
                        : json.substring(0, at)
                            + (char) (json.charAt(at) ^ (1 << (where % 7)))
                            + json.substring(at + 1);
              };
            });
  }

  private static Arbitrary<String> fieldNames() {
    return Arbitraries.frequencyOf(
        Tuple.of(9, Arbitraries.of(FIELDS)), Tuple.of(1, Arbitraries.strings().ofMaxLength(10)));
  }

  /** A JSON value of any type, biased toward what {@code field} expects. */
  private static Arbitrary<String> values(String field) {
    Arbitrary<String> anyString = Arbitraries.strings().ofMaxLength(80).map(Json::encode);
    Arbitrary<String> other =
        Arbitraries.of(
            "null",
            "true",
            "false",
            "0",
            "-1",
            "1.5",
            "1e3",
            "[]",
            "{}",
            "[1,{\"a\":[null]}]",
            "{\"type\":\"send\"}",
            "99999999999999999999999",
            "\"\"",
            "\" \"");
    Arbitrary<String> expected =
        switch (field) {
          case "type" -> Arbitraries.of(TYPES).map(Json::encode);
          case "room" ->
              Arbitraries.oneOf(
                  Arbitraries.strings()
                      .withChars("abcXYZ019_.-")
                      .ofMinLength(0)
                      .ofMaxLength(70)
                      .map(Json::encode),
                  Arbitraries.strings()
                      .alpha()
                      .ofMinLength(1)
                      .ofMaxLength(33)
                      .map(u -> Json.encode("@" + u)));
          case "id", "epoch" ->
              Arbitraries.strings().ofMinLength(0).ofMaxLength(70).map(Json::encode);
          case "text" ->
              Arbitraries.oneOf(
                  Arbitraries.strings().ofMaxLength(60).map(Json::encode),
                  Arbitraries.strings()
                      .withChars(" \t\n\u00a0\u2003\u3000")
                      .ofMinLength(1)
                      .ofMaxLength(5)
                      .map(Json::encode),
                  Arbitraries.integers().between(3990, 4010).map(n -> Json.encode("x".repeat(n))),
                  Arbitraries.integers()
                      .between(1995, 2005)
                      .map(n -> Json.encode("\uD83D\uDE00".repeat(n))));
          case "to" ->
              Arbitraries.strings()
                  .withChars("abcXYZ019_.-é")
                  .ofMinLength(0)
                  .ofMaxLength(34)
                  .map(Json::encode);
          case "since", "seq" ->
              Arbitraries.oneOf(
                  Arbitraries.longs().map(String::valueOf),
                  Arbitraries.longs().between(0, 100).map(String::valueOf));
          default -> anyString;
        };
    return Arbitraries.frequencyOf(
        Tuple.of(6, expected), Tuple.of(2, anyString), Tuple.of(2, other));
  }
}
