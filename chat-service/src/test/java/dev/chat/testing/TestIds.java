package dev.chat.testing;

import java.util.UUID;

/** Fresh names for rooms, users and client message ids, so tests sharing a cluster never meet. */
public final class TestIds {

  private TestIds() {}

  /** A fresh room name. */
  public static String room() {
    return "r-" + random();
  }

  /** A fresh user id starting with {@code prefix}. */
  public static String user(String prefix) {
    return prefix + "-" + random();
  }

  /** A fresh client message id. */
  public static String id() {
    return "m-" + random();
  }

  /** Eight random hex characters. */
  public static String random() {
    return UUID.randomUUID().toString().substring(0, 8);
  }
}
