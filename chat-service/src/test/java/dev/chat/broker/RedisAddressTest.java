package dev.chat.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Redis node addresses")
class RedisAddressTest {

  @Test
  @DisplayName("a seed URI gives its host and port, 6379 when none is given")
  void parses() {
    assertThat(RedisAddress.of("redis://10.0.0.7:7001"))
        .isEqualTo(new RedisAddress("10.0.0.7", 7001));
    assertThat(RedisAddress.of("rediss://u:p@cache.example:6380/0").port()).isEqualTo(6380);
    assertThat(RedisAddress.of("redis://cache.example").port()).isEqualTo(6379);
  }

  @Test
  @DisplayName("a node the cluster names gets the seed's scheme and credentials, not its host")
  void borrowsSchemeAndCredentials() {
    RedisAddress node = new RedisAddress("10.0.0.9", 7005);
    assertThat(node.uri("rediss://chat:s%40cret@seed.example:7000"))
        .isEqualTo("rediss://chat:s%40cret@10.0.0.9:7005");
    assertThat(node.uri("redis://seed:7000")).isEqualTo("redis://10.0.0.9:7005");
    assertThat(new RedisAddress("::1", 7000).uri("redis://seed:1")).isEqualTo("redis://[::1]:7000");
  }

  @Test
  @DisplayName("an address without host or with a port out of range is refused")
  void refusesNonsense() {
    assertThatThrownBy(() -> new RedisAddress("", 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new RedisAddress("h", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> RedisAddress.of("redis:///nohost"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
