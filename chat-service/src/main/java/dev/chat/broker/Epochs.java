package dev.chat.broker;

import java.util.concurrent.ThreadLocalRandom;

/** Makes new room epochs: short random ids, so a lost and recreated history never reuses one. */
public final class Epochs {

  private Epochs() {}

  public static String next() {
    long bits = ThreadLocalRandom.current().nextLong() >>> 1;
    return "e-" + Long.toString(bits, 36);
  }
}
