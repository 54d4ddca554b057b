package dev.chat.broker;

import java.util.List;

/**
 * One page of a room's history: its epoch, stored message frames oldest first (contiguous seqs),
 * and whether older messages are still stored.
 */
public record Page(String epoch, List<byte[]> messages, boolean more) {}
