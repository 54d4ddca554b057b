package dev.chat.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The client address a connection is counted under")
class ClientAddressTest {

  @Test
  @DisplayName("is the IPv4 address itself")
  void ipv4() {
    assertThat(ClientAddress.key("203.0.113.7")).isEqualTo("203.0.113.7");
  }

  @Test
  @DisplayName("is the /64 of an IPv6 address, however it is written")
  void ipv6() {
    String key = ClientAddress.key("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
    assertThat(key).isEqualTo("20010db800010002::/64");
    assertThat(ClientAddress.key("2001:db8:1:2::1")).isEqualTo(key);
    assertThat(ClientAddress.key("[2001:0DB8:0001:0002::ffff]")).isEqualTo(key);
    assertThat(ClientAddress.key("2001:db8:1:3::1")).isNotEqualTo(key);
  }

  @Test
  @DisplayName("is nothing for what is not an IP literal (a host name is never resolved)")
  void notAnAddress() {
    assertThat(ClientAddress.key("localhost")).isNull();
    assertThat(ClientAddress.key("unknown")).isNull();
    assertThat(ClientAddress.key("1.2.3.4, 5.6.7.8")).isNull();
    assertThat(ClientAddress.key("")).isNull();
  }
}
