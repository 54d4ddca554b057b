package dev.chat.http;

import io.netty.util.NetUtil;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import java.util.HexFormat;
import java.util.List;

/**
 * The address a connection is counted under for {@code CHAT_MAX_CONNECTIONS_PER_IP}.
 *
 * <p>It is the socket's peer unless {@code CHAT_TRUST_PROXY} is on; then it is the last hop of
 * {@code X-Forwarded-For}, the one address the trusted proxy itself appended (earlier hops are
 * whatever the client chose to send). IPv6 clients are counted per /64, the block one subscriber
 * usually gets, so rotating addresses inside it does not dodge the limit.
 */
final class ClientAddress {

  private ClientAddress() {}

  static String of(HttpServerRequest request, boolean trustProxy) {
    if (trustProxy) {
      List<String> forwarded = request.headers().getAll("X-Forwarded-For");
      if (!forwarded.isEmpty()) {
        String last = forwarded.get(forwarded.size() - 1);
        String hop = last.substring(last.lastIndexOf(',') + 1).trim();
        String key = key(hop);
        if (key != null) {
          return key;
        }
      }
    }
    SocketAddress peer = request.remoteAddress();
    String host = peer == null ? null : peer.hostAddress();
    String key = host == null ? null : key(host);
    return key != null ? key : "unknown";
  }

  /** A counting key for an IP literal, or null if {@code address} is not one. */
  static String key(String address) {
    String literal =
        address.startsWith("[") && address.endsWith("]")
            ? address.substring(1, address.length() - 1)
            : address;
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(literal);
    if (bytes == null) {
      return null;
    }
    if (bytes.length == 4) {
      return (bytes[0] & 0xFF)
          + "."
          + (bytes[1] & 0xFF)
          + "."
          + (bytes[2] & 0xFF)
          + "."
          + (bytes[3] & 0xFF);
    }
    return HexFormat.of().formatHex(bytes, 0, 8) + "::/64";
  }
}
