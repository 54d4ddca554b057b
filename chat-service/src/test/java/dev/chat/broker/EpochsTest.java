package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.chat.protocol.ClientCodec;
import dev.chat.protocol.ClientFrame.Join;
import dev.chat.protocol.Decoded.Parsed;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Room epochs")
class EpochsTest {

  @Test
  @DisplayName("are short base-36 ids that a client can send back in a join, and never repeat")
  void areShortValidAndDistinct() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1_000; i++) {
      String epoch = Epochs.next();
      assertThat(epoch).matches("e-[0-9a-z]{1,13}");
      assertThat(seen.add(epoch)).as("repeated epoch %s", epoch).isTrue();
      String join = "{\"type\":\"join\",\"room\":\"r\",\"epoch\":\"" + epoch + "\",\"since\":1}";
      assertThat(ClientCodec.decode(join)).isEqualTo(new Parsed(new Join("r", epoch, 1L)));
    }
  }
}
