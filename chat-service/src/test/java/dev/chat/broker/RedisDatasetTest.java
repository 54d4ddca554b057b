package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The dataset identity a command connection reads from {@code INFO server replication}. */
class RedisDatasetTest {

  @Test
  @DisplayName("the identity is run_id:master_replid, from an INFO answer with CRLF lines")
  @SuppressWarnings("StringConcatToTextBlock") // CRLF line ends, as INFO sends them
  void runIdAndReplId() {
    String info =
        "# Server\r\nredis_version:7.0.15\r\nrun_id:8340d7ee37cb30d87c3855c0392528f1fd1c8d59\r\n"
            + "tcp_port:6379\r\n\r\n# Replication\r\nrole:master\r\n"
            + "master_replid:35bcdb10513048ca1901b1f3856ec1438c4795ef\r\n"
            + "master_replid2:0000000000000000000000000000000000000000\r\n";
    assertThat(RedisCommands.dataset(info))
        .isEqualTo(
            "8340d7ee37cb30d87c3855c0392528f1fd1c8d59:35bcdb10513048ca1901b1f3856ec1438c4795ef");
  }

  @Test
  @DisplayName("without a replication section the run_id alone is the identity")
  void runIdAlone() {
    assertThat(RedisCommands.dataset("# Server\nrun_id:abc\n")).isEqualTo("abc");
  }

  @Test
  @DisplayName("an answer without run_id is refused rather than shared by every Redis")
  void noRunId() {
    assertThatThrownBy(() -> RedisCommands.dataset("# Server\nredis_version:7.0.15\n"))
        .isInstanceOf(IllegalStateException.class);
  }
}
