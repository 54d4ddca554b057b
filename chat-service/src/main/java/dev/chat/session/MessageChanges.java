package dev.chat.session;

import dev.chat.auth.Identity;
import dev.chat.broker.Draft;
import dev.chat.protocol.ClientFrame;

/**
 * Turns {@code edit} and {@code delete} frames (v1.1) into drafts of new stream entries. Who may
 * change the target is decided by the broker against the stored message, atomically with storing
 * the change; the connection only says whether its token makes it a moderator, who may delete
 * anyone's message but edit only their own.
 */
final class MessageChanges {

  private MessageChanges() {}

  static Draft edit(ClientFrame.Edit e, Identity identity) {
    return new Draft(
        e.room(), identity.user(), e.id(), e.text(), null, new Draft.Change(false, e.seq(), false));
  }

  static Draft delete(ClientFrame.Delete d, Identity identity) {
    return new Draft(
        d.room(),
        identity.user(),
        d.id(),
        null,
        null,
        new Draft.Change(true, d.seq(), identity.moderator()));
  }
}
