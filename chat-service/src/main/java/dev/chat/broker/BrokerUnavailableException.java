package dev.chat.broker;

/** The broker's store cannot be reached; the operation may be retried later. */
public final class BrokerUnavailableException extends RuntimeException {

  public BrokerUnavailableException(String message) {
    super(message, null, false, false);
  }
}
