package dev.chat.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Close and error codes")
class CodesTest {

  @Test
  @DisplayName(
      "are the contract's close codes that the service sends (not 1000 or 1011), plus 1002 for"
          + " broken framing; 1008 and 1013 each name two causes")
  void closeCodesMatchContract() {
    assertThat(Arrays.stream(CloseCode.values()).map(c -> (int) c.code()))
        .containsExactly(
            1002, 1003, 1007, 1008, 1008, 1009, 1012, 1013, 1013, 4000, 4001, 4002, 4003);
  }

  @Test
  @DisplayName("carry short, non-blank reasons that fit a close frame")
  void closeReasonsFit() {
    for (CloseCode code : CloseCode.values()) {
      assertThat(code.reason()).isNotBlank();
      assertThat(code.reason().getBytes(StandardCharsets.UTF_8).length).isLessThan(100);
    }
    assertThat(CloseCode.BINARY.reason()).isEqualTo("binary frames are not accepted");
  }

  @Test
  @DisplayName("tell clients to reconnect only when a new connection can succeed")
  void reconnectAdvice() {
    Map<Boolean, java.util.List<CloseCode>> byAdvice =
        Arrays.stream(CloseCode.values()).collect(Collectors.partitioningBy(CloseCode::reconnect));
    assertThat(byAdvice.get(true))
        .containsExactly(
            CloseCode.SHUTTING_DOWN,
            CloseCode.OVERLOADED,
            CloseCode.TOO_MANY_CONNECTIONS,
            CloseCode.HEARTBEAT_TIMEOUT,
            CloseCode.UNACKED,
            CloseCode.TOKEN_EXPIRED);
  }

  @Test
  @DisplayName("spell error codes on the wire as the contract does")
  void errorCodesOnTheWire() {
    assertThat(Arrays.stream(ErrorCode.values()).map(ErrorCode::wire))
        .containsExactly("bad_request", "not_joined", "forbidden", "rate_limited", "unavailable");
  }
}
