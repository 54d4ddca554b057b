package dev.chat.broker;

/**
 * A message to store: {@code room} receives it, {@code from} wrote it with client id {@code id};
 * {@code to} is the recipient of a direct message, else null.
 */
public record Draft(String room, String from, String id, String text, String to) {}
