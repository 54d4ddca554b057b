// chat-client.js: the browser client of the chat service (wire protocol v1), one ES module with
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
});

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
 * until the service acknowledged it. Events: `status`, `welcome`, `joined`, `reset`, `message`,
 * `presence`, `ack`, `outbox`, `error`, `disconnected` (see docs/client.md).
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
  #timers = { reconnect: null, connect: null, heartbeat: null, ack: null, persist: null, flush: null, rejoin: null };
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
    this.#persistNow();
    this.#detach(1000, 'client closed');
    for (const t of Object.keys(this.#timers)) {
      this.#clear(t);
    }
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
    if (state.joined || state.joining) {
      this.#transmit({ type: 'leave', room });
    }
    this.#remove(`room:${room}`);
    this.#saveRoomList();
    return this;
  }

  /** The messages of `room` that this client keeps (the last `cacheSize`), oldest first. */
  messages(room) {
    return (this.#rooms.get(room)?.messages ?? []).map(m => ({ ...m, room, own: m.from === this.#user }));
  }

  /** Facts about a joined room: its `online` count and `users` as last reported, `epoch`, `seq`. */
  roomInfo(room) {
    const s = this.#rooms.get(room);
    return s ? { room, online: s.online, users: [...s.users], epoch: s.epoch, seq: s.seq, joined: s.joined } : null;
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
    if (!f.recovered) {
      // Another epoch, or history no longer reaches back to our position: start the room over.
      const hadState = state.epoch !== null || state.messages.length > 0;
      state.messages = [];
      state.seq = 0;
      this.#dropAckedIn(f.room, Infinity);
      this.#emit('reset', { room: f.room, epoch: f.epoch, hadState });
    }
    state.epoch = f.epoch;
    this.#markDirty(f.room);
    this.#emit('joined', {
      room: f.room, epoch: f.epoch, seq: f.seq, online: state.online, users: [...state.users],
      recovered: !!f.recovered, usersTruncated: !!f.usersTruncated,
    });
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
    const m = { seq: f.seq, id: f.id, from: f.from, text: f.text, ts: f.ts };
    if (f.to !== undefined) {
      m.to = f.to;
    }
    state.messages.push(m);
    if (state.messages.length > this.#opts.cacheSize) {
      state.messages.splice(0, state.messages.length - this.#opts.cacheSize);
    }
    this.#markDirty(f.room);
    const own = f.from === this.#user;
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
    this.#emit('message', { ...m, room: f.room, own });
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
      if (e.kind === 'send' && !this.#rooms.get(e.room)?.joined) {
        continue;  // sent once the room's joined frame arrives
      }
      const frame = e.kind === 'send'
          ? { type: 'send', room: e.room, id: e.id, text: e.text }
          : { type: 'dm', to: e.to, id: e.id, text: e.text };
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
        ? outbox.filter(e => e && typeof e.id === 'string' && typeof e.text === 'string')
            .map(({ sentOn, sentAt, drop, ...e }) => e)
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
        this.#write(`room:${room}`, { epoch: s.epoch, seq: s.seq, messages: s.messages });
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
        s.messages = s.messages.slice(Math.floor(s.messages.length / 2));
        try { this.#storage.setItem(`${this.#prefix}room:${room}`, JSON.stringify({ epoch: s.epoch, seq: s.seq, messages: s.messages })); } catch { /* next */ }
      }
      try {
        this.#storage.setItem(this.#prefix + key, JSON.stringify(value));
      } catch {
        this.#emit('error', { code: 'storage', message: `could not save ${key}: ${e?.message ?? e}` });
      }
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
  return {
    epoch: ok && typeof saved.epoch === 'string' ? saved.epoch : null,
    seq: ok && Number.isSafeInteger(saved.seq) ? saved.seq : 0,
    messages: ok && Array.isArray(saved.messages) ? saved.messages : [],
    joined: false,
    joining: false,
    ackDue: false,
    online: 0,
    users: [],
  };
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
