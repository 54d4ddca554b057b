package dev.chat.bench;

/**
 * When a client acknowledges deliveries: {@code delayMs} after the first unacknowledged one, or at
 * once on the {@code every}th, whichever comes first (chat-client.js's {@code ackDelayMs} and
 * {@code ackEvery}).
 *
 * @param delayMs the ack timer, started by the first delivery not yet acknowledged
 * @param every deliveries (new or redelivered, over all rooms of the client) that flush at once
 */
public record AckCadence(long delayMs, int every) {
  /**
   * chat-client.js's defaults. AckCadenceTest reads them from chat-client.js and fails when these
   * differ, so a change there cannot leave the benchmark acking differently from real clients.
   */
  public static final AckCadence CHAT_CLIENT_JS = new AckCadence(50, 32);

  public AckCadence {
    if (delayMs < 1 || every < 1)
      throw new IllegalArgumentException(
          "ack cadence needs delayMs >= 1 and every >= 1, not " + delayMs + " and " + every);
  }

  /** {@code --ack-delay-ms} and {@code --ack-every}, chat-client.js's defaults when absent. */
  static AckCadence of(Options o) {
    return new AckCadence(
        o.lng("ack-delay-ms", CHAT_CLIENT_JS.delayMs()),
        o.integer("ack-every", CHAT_CLIENT_JS.every()));
  }
}
