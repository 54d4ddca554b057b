package dev.chat.broker;

/** Where a message was stored: its seq and timestamp, and whether an earlier send had stored it. */
public record Stored(String room, long seq, long ts, boolean duplicate) {}
