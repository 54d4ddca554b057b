// ChatClient instances for Node tests: real sockets (the `ws` package), an in-memory storage, and
// a record of every frame each client sent and received, so tests can assert on the wire.
import WebSocket from 'ws';
import { ChatClient, MemoryStorage } from '../../chat-service/src/main/resources/webroot/chat-client.js';
import { waitFor } from './cluster.js';

export { ChatClient, MemoryStorage };

/** A WebSocket class whose instances log what they send and receive into `wire`. */
function recordingSocket(wire) {
  return class RecordingWebSocket extends WebSocket {
    constructor(url, protocols, options) {
      super(url, protocols, options);
      this.addEventListener('message', ev => wire.received.push(parse(ev.data)));
    }

    send(data, ...rest) {
      wire.sent.push(parse(data));
      return super.send(data, ...rest);
    }
  };
}

function parse(data) {
  try {
    return JSON.parse(String(data));
  } catch {
    return { raw: String(data) };
  }
}

/** Copies a MemoryStorage (what a second tab or a restored backup would see). */
export function copyStorage(storage) {
  const copy = new MemoryStorage();
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    copy.setItem(key, storage.getItem(key));
  }
  return copy;
}

/**
 * A ChatClient with its events collected in `events` (type → list) and its frames in `wire`.
 * Not connected yet: call `.connect()`.
 */
export function testClient({ url, user, storage = new MemoryStorage(), ...opts }) {
  const wire = { sent: [], received: [] };
  const client = new ChatClient({ url, user, storage, WebSocket: recordingSocket(wire), ...opts });
  const events = new Map();
  for (const type of ['status', 'welcome', 'joined', 'reset', 'message', 'update', 'typing', 'read', 'presence', 'ack', 'outbox', 'error']) {
    events.set(type, []);
    client.on(type, e => events.get(type).push(e));
  }
  return {
    client,
    storage,
    wire,
    events,
    of: type => events.get(type),
    messages: room => events.get('message').filter(m => m.room === room),
    /** Waits for an event of `type` matching `pred`, from the `from`-th event of that type on. */
    waitEvent: (type, pred = () => true, timeoutMs = 10_000, from = 0) =>
      waitFor(`a ${type} event of ${user}`, () => events.get(type).slice(from).find(pred), timeoutMs),
    waitOnline: (timeoutMs = 15_000) => waitFor(`${user} online`, () => client.status === 'online', timeoutMs),
    waitJoined: (room, timeoutMs = 10_000) => waitFor(`${user} joined ${room}`, () => client.roomInfo(room)?.joined, timeoutMs),
  };
}
