// chat-client.js: the browser client of the chat service (wire protocol v1.1), one ES module with
// no dependencies and no build step. It also runs in Node 20+ when given a WebSocket constructor
// and a storage object. Usage and guarantees: docs/client.md.

export const STATUS = Object.freeze({
  CONNECTING: 'connecting',
  ONLINE: 'online',
  RECONNECTING: 'reconnecting',
  OFFLINE: 'offline',
});

const MAX_TEXT = 4000;
const USER_ID = /^[\p{L}\p{Nd}_.-]{1,32}$/u;
const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const STORAGE_VERSION = 'v1';

const DEFAULTS = Object.freeze({
  inbox: true,
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  overloadedMinMs: 5_000,
  stableMs: 10_000,
  connectTimeoutMs: 10_000,
  resendMs: 15_000,
  retryUnavailableMs: 1_000,
  ackDelayMs: 50,
  ackEvery: 32,
  cacheSize: 200,
  persistDelayMs: 250,
  historyLimit: 50,
  historyTimeoutMs: 15_000,
  maxHeld: 2_000,
  typingEveryMs: 1_000,
  typingShowMs: 5_000,
  readDelayMs: 300,
});

// Bounds on what a room keeps besides its messages: edits and deletes of messages not held, and
// other users' read positions.
const MAX_MODS = 500;
const MAX_READS = 200;

/** A user id as the service accepts it: 1–32 Unicode letters, digits, `_`, `-` or `.`. */
export function isUserId(s) {
  return typeof s === 'string' && USER_ID.test(s);
}

/** A room name (not an inbox): 1–64 characters of `A-Z a-z 0-9 _ . -`. */
export function isRoomName(s) {
  return typeof s === 'string' && ROOM_NAME.test(s);
}

/** Anything a client may join: a room name, or `@` + a user id (an inbox). */
export function isRoom(s) {
  return isRoomName(s) || (typeof s === 'string' && s.startsWith('@') && isUserId(s.slice(1)));
}

/** Why `text` cannot be sent (a sentence), or null when it can. */
export function textProblem(text) {
  if (typeof text !== 'string' || text.trim() === '') {
    return 'a message must not be empty';
  }
  const length = [...text].length;
  return length > MAX_TEXT ? `a message has at most ${MAX_TEXT} characters (this one has ${length})` : null;
}

/**
 * What to do after the socket closed with a code, one entry per code; the close-code table of
 * docs/protocol.md is the source (a unit test of the service checks this table against it).
 * - `stop`: the service rejected what this client sends; retrying would loop, so the client goes
 *   offline and leaves it to the app.
 * - `now`: the node is shutting down; reconnect at once (another node will answer).
 * - `overloaded`: the node is full; back off longer.
 * - `token`: the token expired; get a new one, then reconnect.
 * - `disconnected`: the app's backend disconnected the user; go offline and tell the app.
 * - `backoff` (every code not listed, 1006 when the socket just broke): reconnect with
 *   exponential backoff and full jitter.
 */
const CLOSE_POLICIES = Object.freeze({
  1002: 'stop',
  1003: 'stop',
  1007: 'stop',
  1008: 'stop',
  1009: 'stop',
  1012: 'now',
  1013: 'overloaded',
  4002: 'token',
  4003: 'disconnected',
});
const DEFAULT_CLOSE_POLICY = 'backoff';

/** What to do after the socket closed with `code` (RFC 6455 close code; 1006 when it just broke). */
export function closePolicy(code) {
  return Object.hasOwn(CLOSE_POLICIES, code) ? CLOSE_POLICIES[code] : DEFAULT_CLOSE_POLICY;
}

/** "Full jitter" backoff: a uniformly random delay in [0, min(maxMs, baseMs * 2^attempt)). */
export function backoffDelay(attempt, baseMs, maxMs, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

/** A storage with the `localStorage` interface that lives only in memory. */
export class MemoryStorage {
  #items = new Map();
  getItem(key) { return this.#items.has(key) ? this.#items.get(key) : null; }
  setItem(key, value) { this.#items.set(key, String(value)); }
  removeItem(key) { this.#items.delete(key); }
  key(i) { return [...this.#items.keys()][i] ?? null; }
  get length() { return this.#items.size; }
}

/**
 * One user's connection to the chat service: reconnects by itself, resumes rooms where it left
 * off, acknowledges what it received, and keeps every message the user sends in a persisted outbox
 * until the service acknowledged it (edits and deletes too). Events: `status`, `welcome`, `joined`,
 * `reset`, `message`, `update`, `typing`, `read`, `presence`, `ack`, `outbox`, `error`,
 * `disconnected` (see docs/client.md).
 */
export class ChatClient {
  #opts;
  #listeners = new Map();
  #storage;
  #prefix;
  #ws = null;
  #connSerial = 0;
  #opens = 0;
  #status = STATUS.OFFLINE;
  #wanted = false;
  #user;
  #token;
  #node = null;
  #heartbeat = null;
  #attempt = 0;
  #onlineSince = 0;
  #lastHeard = 0;
  #lastPing = 0;
  #timers = { reconnect: null, connect: null, heartbeat: null, ack: null, persist: null, flush: null, rejoin: null, read: null };
  // Typing indicators shown, by room then user: { expiresAt, timer }.
  #typers = new Map();
  #rooms = new Map();
  #outbox = [];
  // Own messages whose frame arrived before their ack, by id (bounded), so the ack still reports them.
  #deliveredBeforeAck = new Map();
  #unacked = 0;
  #dirty = new Set();
  #onBrowserOnline = () => this.#reconnectNowIfWaiting();
  #onPageHide = () => this.#persistNow();

  /**
   * @param {object} opts
   * @param {string|string[]} [opts.url] the WebSocket endpoint, e.g. `wss://chat.example/ws`;
   *   several are tried in turn. Default: `/ws` on the page's own origin.
   * @param {string} [opts.user] the user id (auth mode none)
   * @param {string} [opts.token] a JWT (auth mode jwt)
   * @param {() => (string|Promise<string>)} [opts.getToken] called for a new token after close 4002
   * @param {Function} [opts.WebSocket] a WebSocket constructor (default: the global one)
   * @param {Storage} [opts.storage] where the outbox and room positions live (default: localStorage)
   * @param {string} [opts.namespace] storage key namespace (default: the user id)
   */
  constructor(opts = {}) {
    this.#opts = { ...DEFAULTS, ...opts };
    if (opts.user !== undefined && !isUserId(opts.user)) {
      throw new TypeError('user must be 1-32 letters, digits, "_", "-" or "."');
    }
    if (opts.user === undefined && opts.token === undefined && opts.getToken === undefined) {
      throw new TypeError('give a user, a token or getToken');
    }
    this.#user = opts.user ?? null;
    this.#token = opts.token ?? null;
    this.#storage = opts.storage ?? defaultStorage();
    this.#prefix = `chat:${STORAGE_VERSION}:${opts.namespace ?? opts.user ?? 'default'}:`;
    this.#load();
    if (this.#user && this.#opts.inbox) {
      this.#ensureRoom(inboxOf(this.#user));
    }
  }

  get status() { return this.#status; }
  /** The user id, from the options or (token mode) from the service's welcome. */
  get user() { return this.#user; }
  /** The `node` of the current connection's welcome, or null. */
  get node() { return this.#node; }
  /** The name of this user's inbox room, where direct messages arrive. */
  get inbox() { return this.#user ? inboxOf(this.#user) : null; }
  /** The current WebSocket, for diagnostics only. */
  get socket() { return this.#ws; }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on(type, fn) {
    if (!this.#listeners.has(type)) {
      this.#listeners.set(type, new Set());
    }
    this.#listeners.get(type).add(fn);
    return () => this.off(type, fn);
  }

  off(type, fn) {
    this.#listeners.get(type)?.delete(fn);
  }

  /** Opens the connection (and keeps it open until close()). */
  connect() {
    if (this.#wanted) {
      return this;
    }
    this.#wanted = true;
    globalThis.addEventListener?.('online', this.#onBrowserOnline);
    globalThis.addEventListener?.('pagehide', this.#onPageHide);
    this.#setStatus(STATUS.CONNECTING, {});
    this.#open();
    return this;
  }

  /** Closes the connection for good; state stays persisted for the next connect(). */
  close() {
    this.#wanted = false;
    globalThis.removeEventListener?.('online', this.#onBrowserOnline);
    globalThis.removeEventListener?.('pagehide', this.#onPageHide);
    this.#flushAcks();
    this.#flushReads();
    this.#persistNow();
    this.#detach(1000, 'client closed');
    for (const t of Object.keys(this.#timers)) {
      this.#clear(t);
    }
    for (const room of [...this.#typers.keys()]) {
      this.#clearTypers(room);
    }
    this.#rejectHistory(null, 'closed', 'the client was closed');
    this.#setStatus(STATUS.OFFLINE, { reason: 'closed by the app' });
  }

  /** The rooms this client is in (or will be, once connected), inbox included. */
  rooms() {
    return [...this.#rooms.keys()];
  }

  /** Joins `room` now and after every reconnect, resuming where the last connection left off. */
  join(room) {
    if (!isRoom(room)) {
      throw new TypeError(`not a room name: ${room}`);
    }
    if (room.startsWith('@') && this.#user && room !== inboxOf(this.#user)) {
      throw new TypeError('only your own inbox can be joined; send direct messages with dm()');
    }
    const state = this.#ensureRoom(room);
    if (this.#status === STATUS.ONLINE && !state.joined) {
      this.#sendJoin(room, state);
    }
    return this;
  }

  /** Leaves `room` and forgets it (its cached messages and position). */
  leave(room) {
    const state = this.#rooms.get(room);
    if (!state) {
      return this;
    }
    this.#rooms.delete(room);
    this.#clearTypers(room);
    this.#rejectHistory(room, 'left', `left ${room}`);
    if (state.joined || state.joining) {
      this.#transmit({ type: 'leave', room });
    }
    this.#remove(`room:${room}`);
    this.#saveRoomList();
    return this;
  }

  /**
   * The messages of `room` that this client holds (the last `cacheSize`, plus pages loaded with
   * loadOlder), oldest first, with edits and deletes applied (`edited`, `deleted`; a deleted one
   * has no `text`). An edit or delete still in the outbox shows as `pending: 'edit' | 'delete'`
   * (with `pendingText` for an edit).
   */
  messages(room) {
    const state = this.#rooms.get(room);
    if (!state) {
      return [];
    }
    const pending = new Map();
    for (const e of this.#outbox) {
      if ((e.kind === 'edit' || e.kind === 'delete') && e.room === room && !e.ack) {
        pending.set(e.seq, e);
      }
    }
    return state.messages.map(m => {
      const out = { ...m, room, own: m.from === this.#user };
      const p = pending.get(m.seq);
      if (p && !m.deleted) {
        out.pending = p.kind;
        if (p.kind === 'edit') {
          out.pendingText = p.text;
        }
      }
      return out;
    });
  }

  /**
   * Facts about a room: its `online` count and `users` as last reported, `epoch`, `seq`, whether
   * older messages may still be stored (`hasOlder`), this user's read position `read`, the read
   * positions of the others (`reads`, user → seq) and the `unread` count.
   */
  roomInfo(room) {
    const s = this.#rooms.get(room);
    return s ? {
      room, online: s.online, users: [...s.users], epoch: s.epoch, seq: s.seq, joined: s.joined,
      hasOlder: this.#hasOlder(s), read: s.read, reads: { ...s.reads }, unread: this.unread(room),
    } : null;
  }

  /**
   * How many messages of others in `room` come after this user's read position (as the service
   * keeps it, across devices, or as marked here since). Messages older than those held count as
   * one each, whatever they were.
   */
  unread(room) {
    const s = this.#rooms.get(room);
    if (!s) {
      return 0;
    }
    const read = Math.max(s.read, s.readWanted);
    let n = 0;
    for (const m of s.messages) {
      if (m.seq > read && m.from !== this.#user && !m.deleted) {
        n++;
      }
    }
    const floor = s.messages.length ? Math.min(s.floor ?? Infinity, s.messages[0].seq) : (s.floor ?? s.seq + 1);
    return n + Math.max(0, Math.min(floor, s.seq + 1) - 1 - read);
  }

  /** The users other than this one whose read position in `room` is at `seq` or later. */
  readBy(room, seq) {
    const s = this.#rooms.get(room);
    return s ? Object.keys(s.reads).filter(u => u !== this.#user && s.reads[u] >= seq) : [];
  }

  /** The users shown as typing in `room` now (not this one). */
  typingUsers(room) {
    return [...(this.#typers.get(room)?.keys() ?? [])];
  }

  /** Every message the service has not yet stored, oldest first (acked ones carry `ack`). */
  outbox() {
    return this.#outbox.map(e => ({ ...e }));
  }

  /**
   * Sends `text` to `room` (joining it if needed). The message goes to the outbox first and is
   * (re)sent with the same id until the service acknowledges it. Returns its outbox entry.
   */
  send(room, text) {
    if (!isRoomName(room)) {
      throw new TypeError(`not a room name: ${room}`);
    }
    this.#checkText(text);
    this.#ensureRoom(room);
    return this.#enqueue({ kind: 'send', room, text });
  }

  /** Sends a direct message to user `to`; it lands in their inbox and in this user's. */
  dm(to, text) {
    if (!isUserId(to)) {
      throw new TypeError(`not a user id: ${to}`);
    }
    this.#checkText(text);
    return this.#enqueue({ kind: 'dm', to, text });
  }

  /**
   * Replaces the text of message `seq` of `room` (your own). Goes through the outbox like send:
   * stored once, re-sent with the same id until acknowledged. Returns its outbox entry.
   */
  edit(room, seq, text) {
    this.#checkTarget(room, seq);
    this.#checkText(text);
    return this.#enqueue({ kind: 'edit', room, seq, text });
  }

  /** Deletes message `seq` of `room` (your own, or anyone's as a moderator), through the outbox. */
  delete(room, seq) {
    this.#checkTarget(room, seq);
    return this.#enqueue({ kind: 'delete', room, seq });
  }

  /**
   * Asks for the page of `room`'s history just older than the oldest message held. Resolves with
   * `{room, messages, more}`: `messages` are the ones added (oldest first, edits and deletes
   * applied; the stored edit and delete entries themselves are applied, not listed), and `more`
   * whether older ones are still stored. One request per room at a time (a second call gets the
   * same promise). Rejects (`err.code`) when the room resets, is left, or no answer comes.
   */
  loadOlder(room, limit = this.#opts.historyLimit) {
    const state = this.#rooms.get(room);
    if (!state) {
      return Promise.reject(codedError('not_joined', `not in ${room}`));
    }
    if (state.history) {
      return state.history.promise;
    }
    if (!this.#hasOlder(state)) {
      return Promise.resolve({ room, messages: [], more: false });
    }
    const request = { limit: Math.max(1, Math.min(100, limit)), sent: false, timer: null };
    request.promise = new Promise((resolve, reject) => {
      request.resolve = resolve;
      request.reject = reject;
    });
    request.timer = setTimeout(() => {
      if (state.history === request) {
        state.history = null;
        request.reject(codedError('timeout', `no history answer for ${room}`));
      }
    }, this.#opts.historyTimeoutMs);
    state.history = request;
    if (state.joined) {
      this.#sendHistory(room, state);
    }
    return request.promise;
  }

  /**
   * Says the user is typing in `room`. Call it on every keystroke: at most one frame per
   * `typingEveryMs` (1 s) per room goes out, and none while offline (typing is never queued).
   * Returns whether a frame went out.
   */
  typing(room) {
    const state = this.#rooms.get(room);
    if (!state || !state.joined || !isRoomName(room)) {
      return false;
    }
    const now = Date.now();
    if (now - state.typingSentAt < this.#opts.typingEveryMs) {
      return false;
    }
    if (this.#transmit({ type: 'typing', room })) {
      state.typingSentAt = now;
      return true;
    }
    return false;
  }

  /**
   * Marks `room` read up to `seq`. Positions only move forward; calls are coalesced per room and
   * sent `readDelayMs` later (or on the next connection). The unread count follows at once.
   */
  markRead(room, seq) {
    const state = this.#rooms.get(room);
    if (!state || !Number.isSafeInteger(seq) || seq <= Math.max(state.read, state.readWanted)) {
      return;
    }
    // Not past the newest seq known (the joined frame's may be ahead of the replay still arriving).
    state.readWanted = Math.min(seq, Math.max(state.seq, state.head));
    if (state.readWanted <= state.read) {
      return;
    }
    this.#markDirty(room);
    this.#emit('read', { room, user: this.#user, seq: state.readWanted, own: true, local: true, unread: this.unread(room) });
    if (this.#timers.read === null) {
      this.#timers.read = setTimeout(() => this.#flushReads(), this.#opts.readDelayMs);
    }
  }

  /** Deletes everything this client stored (outbox, rooms, positions) and closes it. */
  forget() {
    this.close();
    for (const room of this.#rooms.keys()) {
      this.#remove(`room:${room}`);
    }
    this.#remove('rooms');
    this.#remove('outbox');
    this.#rooms.clear();
    this.#outbox = [];
  }

  #checkTarget(room, seq) {
    if (!isRoomName(room)) {
      throw new TypeError(`not a room name: ${room}`);
    }
    if (!Number.isSafeInteger(seq) || seq < 1) {
      throw new TypeError(`not a message seq: ${seq}`);
    }
    this.#ensureRoom(room);
  }

  #hasOlder(state) {
    const floor = state.messages.length ? Math.min(state.floor ?? Infinity, state.messages[0].seq) : state.floor;
    return state.more && (floor === null ? state.seq > 0 : floor > 1);
  }

  // ---- connection -------------------------------------------------------------------------

  #url() {
    let urls = this.#opts.url;
    if (urls === undefined) {
      const loc = globalThis.location;
      if (!loc) {
        throw new TypeError('give a url outside a browser');
      }
      urls = `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
    }
    const list = Array.isArray(urls) ? urls : [urls];
    const base = list[this.#opens++ % list.length];
    const query = this.#token !== null
        ? `token=${encodeURIComponent(this.#token)}`
        : `user=${encodeURIComponent(this.#user)}`;
    return base + (base.includes('?') ? '&' : '?') + query;
  }

  #open() {
    this.#clear('reconnect');
    if (this.#token === null && this.#user === null) {
      this.#renewToken({ reason: 'first token' });  // getToken-only: ask for the first token
      return;
    }
    const serial = ++this.#connSerial;
    const Ctor = this.#opts.WebSocket ?? globalThis.WebSocket;
    let ws;
    try {
      ws = new Ctor(this.#url());
    } catch (e) {
      this.#emit('error', { code: 'connect_failed', message: String(e?.message ?? e) });
      this.#afterClose(1006, 'could not open a socket');
      return;
    }
    this.#ws = ws;
    this.#onlineSince = 0;
    ws.onmessage = ev => serial === this.#connSerial && this.#onFrame(ev.data);
    ws.onclose = ev => serial === this.#connSerial && this.#onSocketClosed(ev.code, ev.reason);
    ws.onerror = () => {};  // a close event always follows; its code says what happened
    this.#timers.connect = setTimeout(() => this.#drop(4000, 'no welcome in time'), this.#opts.connectTimeoutMs);
  }

  #onSocketClosed(code, reason) {
    this.#detach();
    this.#afterClose(code || 1006, reason || '');
  }

  /** Gives up on the current socket at once (without waiting for a close handshake that may never come). */
  #drop(code, reason) {
    this.#detach(4000, reason);
    this.#afterClose(code, reason);
  }

  #detach(closeCode, reason) {
    const ws = this.#ws;
    this.#ws = null;
    this.#connSerial++;
    this.#clear('connect');
    this.#clear('heartbeat');
    this.#clear('flush');
    this.#clear('rejoin');
    for (const state of this.#rooms.values()) {
      state.joined = false;
      state.joining = false;
      state.readSent = 0;
      if (state.history) {
        state.history.sent = false;  // asked again once the room is joined on the next connection
      }
    }
    if (ws && closeCode !== undefined) {
      ws.onmessage = ws.onclose = null;
      try { ws.close(closeCode, reason); } catch { /* already closing */ }
    }
  }

  #afterClose(code, reason) {
    this.#flushAcks();
    this.#persistNow();
    if (!this.#wanted) {
      return;
    }
    const wasOnline = this.#onlineSince > 0;
    if (wasOnline && Date.now() - this.#onlineSince >= this.#opts.stableMs) {
      this.#attempt = 0;
    }
    const policy = closePolicy(code);
    const detail = { closeCode: code, reason, policy };
    if (policy === 'stop') {
      this.#wanted = false;
      this.#setStatus(STATUS.OFFLINE, detail);
      this.#emit('error', { code: 'closed', closeCode: code, message: `the service closed the connection (${code} ${reason}); not reconnecting` });
      return;
    }
    if (policy === 'disconnected') {
      this.#wanted = false;
      this.#setStatus(STATUS.OFFLINE, detail);
      this.#emit('disconnected', { closeCode: code, reason });
      return;
    }
    if (policy === 'token') {
      this.#renewToken(detail);
      return;
    }
    const { backoffBaseMs: base, backoffMaxMs: max, overloadedMinMs } = this.#opts;
    let delay;
    if (policy === 'now' && wasOnline) {
      delay = 0;
    } else if (policy === 'overloaded') {
      delay = overloadedMinMs + backoffDelay(this.#attempt++, overloadedMinMs, max);
    } else {
      delay = backoffDelay(this.#attempt++, base, max);
    }
    this.#setStatus(STATUS.RECONNECTING, { ...detail, attempt: this.#attempt, delayMs: delay });
    this.#timers.reconnect = setTimeout(() => this.#open(), delay);
  }

  #renewToken(detail) {
    const getToken = this.#opts.getToken;
    if (!getToken) {
      this.#wanted = false;
      this.#setStatus(STATUS.OFFLINE, detail);
      this.#emit('error', { code: 'token_expired', closeCode: 4002, message: 'the token expired; connect again with a new one' });
      return;
    }
    if (this.#status !== STATUS.CONNECTING) {
      this.#setStatus(STATUS.RECONNECTING, { ...detail, attempt: this.#attempt, delayMs: 0 });
    }
    Promise.resolve().then(() => getToken()).then(token => {
      this.#token = token;
      if (this.#wanted) {
        this.#open();
      }
    }, e => {
      this.#emit('error', { code: 'token_expired', closeCode: 4002, message: `getToken failed: ${e?.message ?? e}` });
      this.#afterClose(1006, 'getToken failed');
    });
  }

  #reconnectNowIfWaiting() {
    if (this.#wanted && this.#timers.reconnect !== null) {
      this.#open();
    }
  }

  #transmit(frame) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) {
      return false;
    }
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  // ---- frames from the service ------------------------------------------------------------

  #onFrame(data) {
    this.#lastHeard = Date.now();
    if (typeof data !== 'string') {
      return;
    }
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    switch (f?.type) {
      case 'welcome': return this.#onWelcome(f);
      case 'joined': return this.#onJoined(f);
      case 'message': return this.#onMessage(f);
      case 'ack': return this.#onAck(f);
      case 'presence': return this.#onPresence(f);
      case 'history': return this.#onHistory(f);
      case 'typing': return this.#onTyping(f);
      case 'read': return this.#onRead(f);
      case 'error': return this.#onError(f);
      default: return undefined;  // pong, left, and frames a newer service may add
    }
  }

  #onWelcome(f) {
    this.#clear('connect');
    this.#user = f.user;
    this.#node = f.node ?? null;
    this.#heartbeat = {
      intervalMs: Math.max(100, f.heartbeat?.intervalMs ?? 25_000),
      timeoutMs: Math.max(200, f.heartbeat?.timeoutMs ?? 60_000),
    };
    this.#onlineSince = Date.now();
    this.#lastPing = this.#lastHeard;
    if (this.#opts.inbox) {
      this.#ensureRoom(inboxOf(this.#user));
    }
    this.#armHeartbeat();
    this.#setStatus(STATUS.ONLINE, { node: this.#node });
    this.#emit('welcome', { user: f.user, node: f.node, connId: f.connId, heartbeat: { ...this.#heartbeat } });
    for (const [room, state] of this.#rooms) {
      this.#sendJoin(room, state);
    }
    this.#flushOutbox();
  }

  #sendJoin(room, state) {
    const frame = { type: 'join', room };
    if (state.epoch) {
      frame.epoch = state.epoch;
      frame.since = state.seq;
    }
    state.joining = this.#transmit(frame);
  }

  #onJoined(f) {
    const state = this.#rooms.get(f.room);
    if (!state) {
      return;
    }
    state.joining = false;
    state.joined = true;
    state.online = f.online ?? 0;
    state.users = Array.isArray(f.users) ? f.users : [];
    const sameEpoch = state.epoch === f.epoch;
    if (!f.recovered) {
      // Another epoch, or history no longer reaches back to our position: start the room over.
      const hadState = state.epoch !== null || state.messages.length > 0;
      state.messages = [];
      state.seq = 0;
      state.floor = null;
      state.more = true;
      state.mods = new Map();
      state.keep = 0;
      this.#dropAckedIn(f.room, Infinity);
      this.#rejectHistory(f.room, 'reset', `${f.room} started over`);
      this.#emit('reset', { room: f.room, epoch: f.epoch, hadState });
    }
    if (!sameEpoch) {
      // Positions of another epoch name other messages.
      state.read = 0;
      state.readWanted = 0;
      state.reads = {};
    }
    state.epoch = f.epoch;
    state.head = Number.isSafeInteger(f.seq) ? f.seq : state.seq;
    if (Number.isSafeInteger(f.seq) && f.seq === 0) {
      state.floor = 1;  // an empty room: nothing older to load
    }
    if (f.read && typeof f.read === 'object') {
      for (const [user, seq] of Object.entries(f.read)) {
        if (Number.isSafeInteger(seq)) {
          this.#setRead(state, user, seq);
        }
      }
    }
    this.#markDirty(f.room);
    this.#emit('joined', {
      room: f.room, epoch: f.epoch, seq: f.seq, online: state.online, users: [...state.users],
      recovered: !!f.recovered, usersTruncated: !!f.usersTruncated, read: { ...state.reads },
    });
    if (state.readWanted > state.read) {
      this.#flushReadsSoon();
    }
    if (state.history && !state.history.sent) {
      this.#sendHistory(f.room, state);
    }
    this.#flushOutbox();
  }

  #onMessage(f) {
    const state = this.#rooms.get(f.room);
    if (!state || !state.joined || typeof f.seq !== 'number') {
      return;
    }
    if (f.seq <= state.seq) {
      this.#scheduleAck(f.room);  // a redelivery or a replay overlap: ack again, show nothing
      return;
    }
    if (state.seq > 0 && f.seq > state.seq + 1) {
      // The service promises no gaps; if one shows anyway, ask for the missing part by resuming.
      if (!state.joining) {
        this.#sendJoin(f.room, state);
      }
      return;
    }
    state.seq = f.seq;
    if (state.floor === null) {
      state.floor = f.seq;  // the first message after a reset: what is held starts here
    }
    const own = f.from === this.#user;
    const target = targetOf(f);
    let m = null;
    if (target === null) {
      m = toMessage(f);
      this.#applyMod(state, m);
      state.messages.push(m);
      this.#trim(state);
    }
    this.#markDirty(f.room);
    // Applied before the outbox event below, so a listener of either sees the edit applied.
    const update = m ? null : this.#modify(f.room, state, f, target);
    if (own) {
      // The message frame may overtake its ack (they travel different paths in the service):
      // the entry leaves the outbox now, and is remembered so the ack still reports it.
      const sent = this.#outbox.find(e => e.id === f.id);
      if (sent) {
        this.#rememberDelivered(sent);
        this.#removeFromOutbox(e => e === sent);
      }
    }
    this.#dropAckedIn(f.room, f.seq);
    this.#scheduleAck(f.room);
    if (m) {
      this.#stopTyping(f.room, f.from);
      this.#emit('message', { ...m, room: f.room, own });
    } else if (update) {
      this.#emit('update', update);
    }
  }

  // ---- edits and deletes ------------------------------------------------------------------

  /**
   * Applies a stored edit or delete entry to its target: to the message if held, else kept (bounded)
   * for when an older page brings the target. The entry with the higher seq wins; a delete is final.
   */
  #modify(room, state, f, target) {
    const mod = f.deletes !== undefined
        ? { seq: f.seq, by: f.from, deleted: true }
        : { seq: f.seq, by: f.from, text: f.text, ts: f.ts };
    const held = findBySeq(state.messages, target);
    if (held) {
      if (!applyTo(held, mod)) {
        return null;
      }
    } else {
      const known = state.mods.get(target);
      if (known && !wins(mod, known)) {
        return null;
      }
      state.mods.set(target, mod);
      this.#boundMods(state);
    }
    this.#markDirty(room);
    const event = {
      room, seq: target, kind: mod.deleted ? 'delete' : 'edit', by: f.from, updateSeq: f.seq,
      text: mod.deleted ? undefined : mod.text, message: held ? { ...held, room, own: held.from === this.#user } : null,
    };
    return event;
  }

  /** A message that arrives (live, replayed or paged) after an edit or delete of it. */
  #applyMod(state, m) {
    const mod = state.mods.get(m.seq);
    if (mod) {
      state.mods.delete(m.seq);
      applyTo(m, mod);
    }
  }

  #boundMods(state) {
    while (state.mods.size > MAX_MODS) {
      state.mods.delete(Math.min(...state.mods.keys()));
    }
  }

  /** Keeps the held list bounded; a dropped message's edit or delete is kept for a later loadOlder. */
  #trim(state) {
    const max = Math.min(this.#opts.maxHeld, Math.max(this.#opts.cacheSize, state.keep));
    if (state.messages.length > max) {
      const dropped = state.messages.splice(0, state.messages.length - max);
      for (const d of dropped) {
        if (d.modSeq) {
          state.mods.set(d.seq, d.deleted ? { seq: d.modSeq, deleted: true } : { seq: d.modSeq, text: d.text });
        }
      }
      this.#boundMods(state);
      state.floor = dropped.at(-1).seq + 1;
      state.more = true;
    }
  }

  // ---- older history ----------------------------------------------------------------------

  #sendHistory(room, state) {
    const request = state.history;
    const floor = state.messages.length ? Math.min(state.floor ?? Infinity, state.messages[0].seq) : state.floor;
    const frame = { type: 'history', room, limit: request.limit };
    if (floor !== null) {
      frame.before = floor;
    } else if (state.seq > 0) {
      frame.before = state.seq + 1;
    }
    request.before = frame.before ?? null;
    request.epoch = state.epoch;
    request.sent = this.#transmit(frame);
  }

  #onHistory(f) {
    const state = this.#rooms.get(f.room);
    const request = state?.history;
    if (!request || !request.sent || (f.before ?? null) !== request.before) {
      return;  // an answer to a request given up (timed out, reset) or not ours
    }
    state.history = null;
    clearTimeout(request.timer);
    if (f.epoch !== undefined && f.epoch !== state.epoch) {
      request.reject(codedError('reset', `${f.room} changed its epoch`));
      return;
    }
    const limit = request.before ?? Infinity;
    const frames = (Array.isArray(f.messages) ? f.messages : [])
        .filter(m => m && Number.isSafeInteger(m.seq) && m.seq < limit)
        .sort((x, y) => x.seq - y.seq);
    const added = [];
    for (const m of frames) {
      if (targetOf(m) === null) {
        const msg = toMessage(m);
        this.#applyMod(state, msg);
        added.push(msg);
      }
    }
    // Prepend first, so that an edit in this page finds its target in this page or held.
    state.messages.unshift(...added);
    for (const m of frames) {
      const target = targetOf(m);
      if (target !== null) {
        // Older than anything held: it only counts when no newer edit or delete got there first.
        this.#modify(f.room, state, m, target);
      }
    }
    if (frames.length > 0) {
      state.floor = frames[0].seq;
    } else if (request.before !== null) {
      state.floor = request.before;
    }
    state.more = f.more === true && state.floor > 1;
    state.keep = Math.min(this.#opts.maxHeld, state.messages.length);
    this.#markDirty(f.room);
    request.resolve({ room: f.room, messages: added.map(m => ({ ...m, room: f.room, own: m.from === this.#user })), more: state.more });
  }

  #rejectHistory(room, code, message) {
    for (const [name, state] of this.#rooms) {
      if ((room === null || name === room) && state.history) {
        const request = state.history;
        state.history = null;
        clearTimeout(request.timer);
        request.reject(codedError(code, message));
      }
    }
  }

  // ---- typing -----------------------------------------------------------------------------

  #onTyping(f) {
    if (typeof f.user !== 'string' || f.user === this.#user || !this.#rooms.has(f.room)) {
      return;
    }
    let typers = this.#typers.get(f.room);
    if (!typers) {
      typers = new Map();
      this.#typers.set(f.room, typers);
    }
    const known = typers.get(f.user);
    if (known) {
      clearTimeout(known.timer);
    }
    const expiresAt = Date.now() + this.#opts.typingShowMs;
    typers.set(f.user, { expiresAt, timer: setTimeout(() => this.#stopTyping(f.room, f.user), this.#opts.typingShowMs) });
    this.#emit('typing', { room: f.room, user: f.user, typing: true, expiresAt, users: this.typingUsers(f.room) });
  }

  #stopTyping(room, user) {
    const typers = this.#typers.get(room);
    const known = typers?.get(user);
    if (!known) {
      return;
    }
    clearTimeout(known.timer);
    typers.delete(user);
    if (typers.size === 0) {
      this.#typers.delete(room);
    }
    this.#emit('typing', { room, user, typing: false, users: this.typingUsers(room) });
  }

  #clearTypers(room) {
    for (const user of [...(this.#typers.get(room)?.keys() ?? [])]) {
      this.#stopTyping(room, user);
    }
  }

  // ---- read positions ---------------------------------------------------------------------

  #onRead(f) {
    const state = this.#rooms.get(f.room);
    if (!state || typeof f.user !== 'string' || !Number.isSafeInteger(f.seq)) {
      return;
    }
    if (this.#setRead(state, f.user, f.seq)) {
      this.#markDirty(f.room);
      const own = f.user === this.#user;
      this.#emit('read', { room: f.room, user: f.user, seq: f.seq, own, local: false, unread: this.unread(f.room) });
    }
  }

  /** Moves a read position forward; returns whether it moved. */
  #setRead(state, user, seq) {
    if (user === this.#user) {
      if (seq <= state.read) {
        return false;
      }
      state.read = seq;
      if (state.readWanted <= seq) {
        state.readWanted = 0;
      }
    }
    if ((state.reads[user] ?? 0) >= seq) {
      return user === this.#user;
    }
    state.reads[user] = seq;
    const users = Object.keys(state.reads);
    if (users.length > MAX_READS) {
      // Keep the most advanced positions: those are the ones that say "seen" on recent messages.
      users.sort((x, y) => state.reads[x] - state.reads[y]);
      for (const u of users.slice(0, users.length - MAX_READS)) {
        delete state.reads[u];
      }
    }
    return true;
  }

  #flushReadsSoon() {
    if (this.#timers.read === null) {
      this.#timers.read = setTimeout(() => this.#flushReads(), 0);
    }
  }

  #flushReads() {
    this.#clear('read');
    for (const [room, state] of this.#rooms) {
      if (state.readWanted > state.read && state.joined && state.readWanted > (state.readSent ?? 0)) {
        if (this.#transmit({ type: 'read', room, seq: state.readWanted })) {
          state.readSent = state.readWanted;
        }
      }
    }
  }

  #rememberDelivered(entry) {
    this.#deliveredBeforeAck.set(entry.id, entry);
    if (this.#deliveredBeforeAck.size > 256) {
      this.#deliveredBeforeAck.delete(this.#deliveredBeforeAck.keys().next().value);
    }
  }

  #onAck(f) {
    if (typeof f.id !== 'string') {
      return;
    }
    const delivered = this.#deliveredBeforeAck.get(f.id);
    if (delivered) {
      this.#deliveredBeforeAck.delete(f.id);
      this.#emit('ack', { id: f.id, room: f.room, seq: f.seq, ts: f.ts, entry: { ...delivered } });
      return;
    }
    const entry = this.#outbox.find(e => e.id === f.id);
    if (!entry) {
      return;
    }
    const ack = { room: f.room, seq: f.seq, ts: f.ts };
    const state = this.#rooms.get(f.room);
    if (state && state.seq < f.seq) {
      // Stored, but its message frame has not arrived yet: keep the entry (marked) until it does,
      // so a page reload in between still shows it.
      entry.ack = ack;
      this.#saveOutbox();
    } else {
      this.#removeFromOutbox(e => e === entry);
    }
    this.#emit('ack', { id: f.id, ...ack, entry: { ...entry } });
  }

  #onPresence(f) {
    const state = this.#rooms.get(f.room);
    if (!state) {
      return;
    }
    state.online = f.online ?? state.online;
    if (f.event === 'join' && !state.users.includes(f.user)) {
      state.users.push(f.user);
    } else if (f.event === 'leave') {
      state.users = state.users.filter(u => u !== f.user);
    }
    this.#emit('presence', { room: f.room, event: f.event, user: f.user, online: f.online });
  }

  #onError(f) {
    const entry = f.id ? this.#outbox.find(e => e.id === f.id) : undefined;
    const event = { code: f.code, message: f.message, id: f.id, retryAfterMs: f.retryAfterMs };
    if (entry) {
      event.entry = { ...entry };
      if (f.code === 'rate_limited') {
        entry.retryAt = Date.now() + (f.retryAfterMs ?? 1000);
      } else if (f.code === 'unavailable') {
        entry.retryAt = Date.now() + this.#opts.retryUnavailableMs;
      } else if (f.code === 'not_joined') {
        const state = this.#rooms.get(entry.room);
        if (state) {
          state.joined = false;
          this.#sendJoin(entry.room, state);
        }
        entry.sentOn = 0;
      } else {
        // bad_request or forbidden: the service will never take this message.
        this.#removeFromOutbox(e => e === entry);
        event.dropped = true;
      }
      this.#scheduleFlush();
    } else if (f.code === 'unavailable' || f.code === 'forbidden') {
      // A join failed; the error does not say which, so retry every join still unanswered
      // (a forbidden one is an inbox of someone else: forget it).
      if (f.code === 'forbidden') {
        const m = /only (\S+) may join (\S+)/.exec(f.message ?? '');
        if (m && this.#rooms.has(m[2])) {
          this.leave(m[2]);
        }
      } else {
        this.#clear('rejoin');
        this.#timers.rejoin = setTimeout(() => this.#rejoinPending(), this.#opts.retryUnavailableMs);
      }
    }
    this.#emit('error', event);
  }

  #rejoinPending() {
    this.#timers.rejoin = null;
    if (this.#status !== STATUS.ONLINE) {
      return;
    }
    for (const [room, state] of this.#rooms) {
      if (!state.joined) {
        this.#sendJoin(room, state);
      }
    }
  }

  // ---- heartbeat --------------------------------------------------------------------------

  #armHeartbeat() {
    const { intervalMs, timeoutMs } = this.#heartbeat;
    const tick = Math.max(50, Math.min(intervalMs, Math.floor(timeoutMs / 4)));
    this.#timers.heartbeat = setInterval(() => {
      const now = Date.now();
      // Silent for timeoutMs although we asked: the connection is dead even if the socket does
      // not know it yet (a frozen node, a dropped route). Measuring from our last ping too keeps
      // a throttled background tab from mistaking its own late timer for a silent service.
      if (this.#lastPing > this.#lastHeard && now - this.#lastHeard >= timeoutMs) {
        this.#drop(4000, 'service silent');
        return;
      }
      if (now - this.#lastPing >= intervalMs) {
        this.#lastPing = now;
        this.#transmit({ type: 'ping' });
      }
    }, tick);
  }

  // ---- delivery acks ----------------------------------------------------------------------

  #scheduleAck(room) {
    const state = this.#rooms.get(room);
    if (!state) {
      return;
    }
    state.ackDue = true;
    if (++this.#unacked >= this.#opts.ackEvery) {
      this.#flushAcks();
    } else if (this.#timers.ack === null) {
      // A timer rather than requestAnimationFrame: animation frames stop in background tabs,
      // and the service would then redeliver and finally close the connection.
      this.#timers.ack = setTimeout(() => this.#flushAcks(), this.#opts.ackDelayMs);
    }
  }

  #flushAcks() {
    this.#clear('ack');
    this.#unacked = 0;
    for (const [room, state] of this.#rooms) {
      if (state.ackDue && state.joined && state.seq > 0) {
        state.ackDue = false;
        this.#transmit({ type: 'ack', room, seq: state.seq });
      }
    }
    this.#schedulePersist();
  }

  // ---- outbox -----------------------------------------------------------------------------

  #checkText(text) {
    const problem = textProblem(text);
    if (problem) {
      throw new RangeError(problem);
    }
  }

  #enqueue(fields) {
    const entry = { id: newId(), ...fields, createdAt: Date.now() };
    this.#outbox.push(entry);
    this.#saveOutbox();
    this.#emit('outbox', this.outbox());
    this.#flushOutbox();
    return { ...entry };
  }

  #removeFromOutbox(match) {
    const before = this.#outbox.length;
    this.#outbox = this.#outbox.filter(e => !match(e));
    if (this.#outbox.length !== before) {
      this.#saveOutbox();
      this.#emit('outbox', this.outbox());
    }
  }

  /** Entries acked into `room` whose message frame has arrived (or never will, after a reset). */
  #dropAckedIn(room, seq) {
    this.#removeFromOutbox(e => e.ack && e.ack.room === room && e.ack.seq <= seq);
  }

  #flushOutbox() {
    this.#clear('flush');
    if (this.#status !== STATUS.ONLINE) {
      return;
    }
    const now = Date.now();
    let next = Infinity;
    let changed = false;
    for (const e of this.#outbox) {
      if (e.ack) {
        const state = this.#rooms.get(e.ack.room);
        if (!state || (state.joined && state.seq >= e.ack.seq)) {
          e.drop = true;  // its message will not come on a room we are not in, or came already
        }
        continue;
      }
      if (e.retryAt && e.retryAt > now) {
        next = Math.min(next, e.retryAt);
        continue;
      }
      if (e.sentOn === this.#connSerial && now - e.sentAt < this.#opts.resendMs) {
        next = Math.min(next, e.sentAt + this.#opts.resendMs);
        continue;
      }
      if (e.kind !== 'dm' && !this.#rooms.get(e.room)?.joined) {
        continue;  // sent once the room's joined frame arrives
      }
      const frame = outboxFrame(e);
      if (this.#transmit(frame)) {
        e.sentOn = this.#connSerial;
        e.sentAt = now;
        e.retryAt = 0;
        changed = true;
        next = Math.min(next, now + this.#opts.resendMs);
      }
    }
    if (this.#outbox.some(e => e.drop)) {
      this.#removeFromOutbox(e => e.drop);
    } else if (changed) {
      this.#saveOutbox();
    }
    if (next !== Infinity) {
      this.#timers.flush = setTimeout(() => this.#flushOutbox(), Math.max(0, next - now));
    }
  }

  #scheduleFlush() {
    this.#clear('flush');
    this.#timers.flush = setTimeout(() => this.#flushOutbox(), 0);
  }

  // ---- state and persistence --------------------------------------------------------------

  #ensureRoom(room) {
    let state = this.#rooms.get(room);
    if (!state) {
      state = newRoomState(this.#read(`room:${room}`));
      this.#rooms.set(room, state);
      this.#saveRoomList();
    }
    return state;
  }

  #load() {
    const rooms = this.#read('rooms');
    for (const room of Array.isArray(rooms) ? rooms : []) {
      if (isRoom(room)) {
        this.#rooms.set(room, newRoomState(this.#read(`room:${room}`)));
      }
    }
    const outbox = this.#read('outbox');
    this.#outbox = Array.isArray(outbox)
        ? outbox.filter(validEntry).map(({ sentOn, sentAt, drop, ...e }) => e)
        : [];
  }

  #markDirty(room) {
    this.#dirty.add(room);
    this.#schedulePersist();
  }

  #schedulePersist() {
    if (this.#dirty.size > 0 && this.#timers.persist === null) {
      this.#timers.persist = setTimeout(() => this.#persistNow(), this.#opts.persistDelayMs);
    }
  }

  /** Room positions and caches are written in batches; a position is always saved with its messages. */
  #persistNow() {
    this.#clear('persist');
    for (const room of this.#dirty) {
      const s = this.#rooms.get(room);
      if (s) {
        this.#write(`room:${room}`, savedRoom(s, this.#opts.cacheSize));
      }
    }
    this.#dirty.clear();
  }

  #saveRoomList() {
    this.#write('rooms', [...this.#rooms.keys()]);
  }

  /** Written at once on every change: nothing typed may be lost to a reload. */
  #saveOutbox() {
    this.#write('outbox', this.#outbox.map(({ sentOn, sentAt, drop, ...e }) => e));
  }

  #read(key) {
    try {
      const raw = this.#storage.getItem(this.#prefix + key);
      return raw === null ? null : JSON.parse(raw);
    } catch {
      return null;
    }
  }

  #write(key, value) {
    try {
      this.#storage.setItem(this.#prefix + key, JSON.stringify(value));
    } catch (e) {
      // Most likely the quota: shrink the message caches (the outbox matters more) and retry once.
      for (const [room, s] of this.#rooms) {
        const half = Math.floor(s.messages.length / 2);
        if (half > 0) {
          s.keep = 0;
          this.#trimTo(s, s.messages.length - half);
        }
        try { this.#storage.setItem(`${this.#prefix}room:${room}`, JSON.stringify(savedRoom(s, this.#opts.cacheSize))); } catch { /* next */ }
      }
      try {
        this.#storage.setItem(this.#prefix + key, JSON.stringify(value));
      } catch {
        this.#emit('error', { code: 'storage', message: `could not save ${key}: ${e?.message ?? e}` });
      }
    }
  }

  #trimTo(state, size) {
    const cacheSize = this.#opts.cacheSize;
    this.#opts.cacheSize = size;
    try {
      this.#trim(state);
    } finally {
      this.#opts.cacheSize = cacheSize;
    }
  }

  #remove(key) {
    try { this.#storage.removeItem(this.#prefix + key); } catch { /* nothing to do */ }
  }

  // ---- small helpers ----------------------------------------------------------------------

  #setStatus(status, detail) {
    this.#status = status;
    this.#emit('status', { status, ...detail });
  }

  #emit(type, event) {
    for (const fn of [...(this.#listeners.get(type) ?? [])]) {
      try {
        fn(event);
      } catch (e) {
        // A failing listener must not break delivery; report it where a developer will see it.
        globalThis.reportError ? globalThis.reportError(e) : console.error(e);
      }
    }
  }

  #clear(name) {
    const t = this.#timers[name];
    if (t !== null) {
      clearTimeout(t);
      clearInterval(t);
      this.#timers[name] = null;
    }
  }
}

function inboxOf(user) {
  return `@${user}`;
}

function newRoomState(saved) {
  const ok = saved && typeof saved === 'object';
  const int = v => (Number.isSafeInteger(v) && v >= 0 ? v : 0);
  const mods = new Map();
  if (ok && Array.isArray(saved.mods)) {
    for (const [target, mod] of saved.mods) {
      if (Number.isSafeInteger(target) && mod && Number.isSafeInteger(mod.seq)) {
        mods.set(target, mod);
      }
    }
  }
  const reads = {};
  if (ok && saved.reads && typeof saved.reads === 'object') {
    for (const [user, seq] of Object.entries(saved.reads)) {
      if (Number.isSafeInteger(seq)) {
        reads[user] = seq;
      }
    }
  }
  return {
    epoch: ok && typeof saved.epoch === 'string' ? saved.epoch : null,
    seq: ok ? int(saved.seq) : 0,
    messages: ok && Array.isArray(saved.messages) ? saved.messages.filter(m => m && Number.isSafeInteger(m.seq)) : [],
    floor: ok && Number.isSafeInteger(saved.floor) ? saved.floor : null,
    more: ok && saved.more === false ? false : true,
    mods,
    keep: 0,
    read: ok ? int(saved.read) : 0,
    readWanted: ok ? int(saved.readWanted) : 0,
    readSent: 0,
    head: 0,
    reads,
    history: null,
    typingSentAt: 0,
    joined: false,
    joining: false,
    ackDue: false,
    online: 0,
    users: [],
  };
}

/**
 * What is stored of a room: its position, the last `cacheSize` messages, and the edits and deletes
 * of older messages (those the cache no longer holds included), so a reload loses none of them.
 */
function savedRoom(s, cacheSize) {
  const kept = s.messages.slice(-cacheSize);
  const mods = new Map(s.mods);
  for (const m of s.messages.slice(0, s.messages.length - kept.length)) {
    if (m.modSeq) {
      mods.set(m.seq, m.deleted ? { seq: m.modSeq, deleted: true } : { seq: m.modSeq, text: m.text });
    }
  }
  const floor = kept.length < s.messages.length ? kept[0]?.seq ?? s.floor : s.floor;
  return {
    epoch: s.epoch, seq: s.seq, floor, more: kept.length < s.messages.length ? true : s.more,
    read: s.read, readWanted: s.readWanted, reads: s.reads,
    mods: [...mods].sort((x, y) => y[0] - x[0]).slice(0, MAX_MODS), messages: kept,
  };
}

function toMessage(f) {
  const m = { seq: f.seq, id: f.id, from: f.from, text: f.text, ts: f.ts };
  if (f.to !== undefined) {
    m.to = f.to;
  }
  return m;
}

/** The seq an edit or delete entry names, or null for a plain message. */
function targetOf(f) {
  const t = f.deletes ?? f.edits;
  return Number.isSafeInteger(t) ? t : null;
}

/** Whether modification `a` overrides `b`: a delete is final; otherwise the later entry wins. */
function wins(a, b) {
  if (b.deleted) {
    return false;
  }
  return a.deleted || a.seq > b.seq;
}

/** Applies an edit or delete to a held message; returns whether it changed it. */
function applyTo(m, mod) {
  const current = m.modSeq ? (m.deleted ? { seq: m.modSeq, deleted: true } : { seq: m.modSeq }) : null;
  if (current && !wins(mod, current)) {
    return false;
  }
  m.modSeq = mod.seq;
  if (mod.deleted) {
    m.deleted = true;
    delete m.text;
    delete m.edited;
  } else {
    m.text = mod.text;
    m.edited = true;
  }
  return true;
}

/** Binary search by seq in a list sorted by seq. */
function findBySeq(list, seq) {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = list[mid].seq;
    if (s === seq) {
      return list[mid];
    }
    if (s < seq) {
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return null;
}

function outboxFrame(e) {
  switch (e.kind) {
    case 'send': return { type: 'send', room: e.room, id: e.id, text: e.text };
    case 'dm': return { type: 'dm', to: e.to, id: e.id, text: e.text };
    case 'edit': return { type: 'edit', room: e.room, seq: e.seq, id: e.id, text: e.text };
    default: return { type: 'delete', room: e.room, seq: e.seq, id: e.id };
  }
}

function validEntry(e) {
  if (!e || typeof e.id !== 'string') {
    return false;
  }
  switch (e.kind) {
    case 'send': return isRoomName(e.room) && typeof e.text === 'string';
    case 'dm': return isUserId(e.to) && typeof e.text === 'string';
    case 'edit': return isRoomName(e.room) && Number.isSafeInteger(e.seq) && typeof e.text === 'string';
    case 'delete': return isRoomName(e.room) && Number.isSafeInteger(e.seq);
    default: return false;
  }
}

function codedError(code, message) {
  const e = new Error(message);
  e.code = code;
  return e;
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage;
    if (s) {
      return s;
    }
  } catch {
    // Blocked storage (a sandboxed frame, some privacy modes) throws on access.
  }
  return new MemoryStorage();
}

/** A de-duplication id: time plus 64 random bits, so ids of one user never collide in practice. */
function newId() {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return `${Date.now().toString(36)}-${[...bytes].map(b => b.toString(16).padStart(2, '0')).join('')}`;
}
