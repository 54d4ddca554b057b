package dev.chat.broker;

import java.nio.charset.StandardCharsets;

/**
 * Redis Cluster's hash slots: CRC16-XMODEM of a key's hash tag, modulo 16384, exactly as {@code
 * keyHashSlot} in Redis's cluster.c computes it, so a channel can be sent to its slot's master
 * without asking Redis.
 */
public final class Slots {

  public static final int COUNT = 16_384;

  private static final int[] TABLE = new int[256];

  static {
    for (int b = 0; b < 256; b++) {
      int crc = b << 8;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      TABLE[b] = crc & 0xffff;
    }
  }

  private Slots() {}

  /** The slot of {@code key} (a key or a shard channel name, as UTF-8). */
  public static int slot(String key) {
    return slot(key.getBytes(StandardCharsets.UTF_8));
  }

  public static int slot(byte[] key) {
    int open = indexOf(key, (byte) '{', 0);
    if (open >= 0) {
      int close = indexOf(key, (byte) '}', open + 1);
      // Redis hashes the whole key when the first '{' has no '}' after it or an empty tag ("{}").
      if (close > open + 1) {
        return crc16(key, open + 1, close) & (COUNT - 1);
      }
    }
    return crc16(key, 0, key.length) & (COUNT - 1);
  }

  /** CRC16-XMODEM (polynomial 0x1021, initial value 0) of {@code bytes[from..to)}. */
  static int crc16(byte[] bytes, int from, int to) {
    int crc = 0;
    for (int i = from; i < to; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
    }
    return crc;
  }

  /**
   * A short hash tag (no braces) whose slot is {@code slot}: {@code "{" + tagFor(s) + "}"} in a
   * channel name puts the channel in slot {@code s}, e.g. for a probe of the shard that owns it.
   */
  public static String tagFor(int slot) {
    if (slot < 0 || slot >= COUNT) {
      throw new IllegalArgumentException("slot must be 0-16383, not " + slot);
    }
    return Tags.BY_SLOT[slot];
  }

  private static int indexOf(byte[] bytes, byte b, int from) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }

  /** Built on first use: the first "p<n>" found for every slot (about 170,000 CRCs, some ms). */
  private static final class Tags {
    static final String[] BY_SLOT = build();

    private static String[] build() {
      String[] tags = new String[COUNT];
      int missing = COUNT;
      for (int n = 0; missing > 0; n++) {
        String tag = "p" + Integer.toString(n, 36);
        int s = slot(tag);
        if (tags[s] == null) {
          tags[s] = tag;
          missing--;
        }
      }
      return tags;
    }
  }
}
