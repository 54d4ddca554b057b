package dev.chat.broker;

/**
 * What a {@link Broker#disconnect} achieved: the connections closed, summed over the brokers that
 * reported back, and whether every broker that received the request did so in time.
 */
public record Disconnected(int closed, boolean complete) {}
