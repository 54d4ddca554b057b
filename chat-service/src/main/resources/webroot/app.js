// The chat page: a thin view over chat-client.js. User text only ever reaches the DOM through
// textContent (never innerHTML), and the page's Content-Security-Policy forbids inline script.
import { ChatClient, STATUS, isRoomName, isUserId, textProblem } from './chat-client.js';

const $ = id => document.getElementById(id);
const NICK_KEY = 'chat-page:user';
const TOKEN_KEY = 'chat-page:token';
const DEFAULT_ROOM = 'general';

let client = null;
let me = null;
let current = null;            // { kind: 'room', room } or { kind: 'dm', peer }
let lastRoom = DEFAULT_ROOM;   // whose people the sidebar lists
let page = null;               // this user's page state: dms, read marks, current conversation

// ---- entry ----------------------------------------------------------------------------------

function start() {
  // Auth mode jwt: the app that signed the user in opens this page as /#token=<jwt>.
  const token = takeToken();
  const subject = token && subjectOf(token);
  if (subject) {
    enter(subject, token);
    return;
  }
  const saved = localStorage.getItem(NICK_KEY);
  if (saved && isUserId(saved)) {
    enter(saved);
  } else {
    $('entry').hidden = false;
    $('nickname').focus();
  }
  $('entry-form').addEventListener('submit', e => {
    e.preventDefault();
    const nick = $('nickname').value.trim().normalize('NFC');
    if (!isUserId(nick)) {
      showError('nickname-error', 'Use 1–32 letters or digits (any script), or _ - .');
      $('nickname').setAttribute('aria-invalid', 'true');
      return;
    }
    localStorage.setItem(NICK_KEY, nick);
    enter(nick);
  });
}

/**
 * A token handed over in the address's fragment (#token=…), which browsers never send to a server
 * (so it reaches no access log), kept for this tab only and taken out of the address bar at once.
 */
function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** The token's `sub`, read without checking the signature (the service checks it); null if unreadable. */
function subjectOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), c => c.charCodeAt(0)));
    const sub = JSON.parse(json).sub;
    return isUserId(sub) ? sub : null;
  } catch {
    return null;
  }
}

function enter(nick, token) {
  me = nick;
  page = loadPage();
  $('entry').hidden = true;
  $('app').hidden = false;
  $('me').textContent = me;
  // With a token the service takes the user from it; `user` only names this user's storage and inbox.
  client = new ChatClient(token ? { user: me, token } : { user: me });
  client.on('status', onStatus);
  client.on('message', onMessage);
  client.on('presence', onPresence);
  client.on('joined', onJoined);
  client.on('reset', onReset);
  client.on('outbox', () => { syncPending(); renderLists(); });
  client.on('ack', onAck);
  client.on('error', onError);
  if (client.rooms().filter(isRoomName).length === 0) {
    client.join(DEFAULT_ROOM);
  }
  for (const e of client.outbox()) {
    if (e.kind === 'dm') {
      rememberDm(e.to);
    }
  }
  const saved = page.current;
  open(saved && (saved.kind === 'dm' || client.rooms().includes(saved.room)) ? saved : { kind: 'room', room: client.rooms().find(isRoomName) });
  client.connect();
  bindApp();
}

// ---- page state (per user, in localStorage beside the client's own) ---------------------------

function pageKey() {
  return `chat-page:${me}:state`;
}

function loadPage() {
  try {
    const p = JSON.parse(localStorage.getItem(pageKey()) ?? 'null');
    if (p && typeof p === 'object') {
      return { dms: Array.isArray(p.dms) ? p.dms.filter(isUserId) : [], read: p.read ?? {}, current: p.current ?? null };
    }
  } catch { /* start afresh */ }
  return { dms: [], read: {}, current: null };
}

function savePage() {
  try {
    localStorage.setItem(pageKey(), JSON.stringify(page));
  } catch { /* unread marks are a convenience */ }
}

function rememberDm(peer) {
  if (!page.dms.includes(peer)) {
    page.dms.push(peer);
    savePage();
  }
}

// ---- conversations ----------------------------------------------------------------------------

function convKey(conv) {
  return conv.kind === 'room' ? `room:${conv.room}` : `dm:${conv.peer}`;
}

function roomOf(conv) {
  return conv.kind === 'room' ? conv.room : client.inbox;
}

function peerOf(m) {
  return m.from === me ? m.to : m.from;
}

function belongs(conv, room, m) {
  return conv.kind === 'room' ? room === conv.room : room === client.inbox && peerOf(m) === conv.peer;
}

function belongsEntry(conv, e) {
  return conv.kind === 'room' ? e.kind === 'send' && e.room === conv.room : e.kind === 'dm' && e.to === conv.peer;
}

function messagesOf(conv) {
  return client.messages(roomOf(conv)).filter(m => belongs(conv, m.room, m));
}

function unread(conv) {
  const mark = page.read[convKey(conv)];
  const epoch = client.roomInfo(roomOf(conv))?.epoch;
  const after = mark && mark.epoch === epoch ? mark.seq : 0;
  return messagesOf(conv).filter(m => !m.own && m.seq > after).length;
}

function markRead(conv) {
  const info = client.roomInfo(roomOf(conv));
  const list = messagesOf(conv);
  const seq = list.length ? list[list.length - 1].seq : 0;
  const key = convKey(conv);
  const mark = page.read[key];
  if (!mark || mark.epoch !== info?.epoch || mark.seq < seq) {
    page.read[key] = { epoch: info?.epoch ?? null, seq };
    savePage();
  }
}

function isOpen(conv) {
  return current && convKey(current) === convKey(conv);
}

function open(conv) {
  if (!conv || (conv.kind === 'room' && !conv.room)) {
    conv = { kind: 'room', room: DEFAULT_ROOM };
    client.join(DEFAULT_ROOM);
  }
  current = conv;
  page.current = conv;
  if (conv.kind === 'room') {
    lastRoom = conv.room;
  } else {
    rememberDm(conv.peer);
  }
  savePage();
  $('title').textContent = conv.kind === 'room' ? `# ${conv.room}` : `@ ${conv.peer}`;
  renderConversation();
  markRead(conv);
  renderLists();
  renderPeople();
  $('app').dataset.view = 'conversation';
}

// ---- rendering --------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function time(ts) {
  const t = el('time', 'when', new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  t.dateTime = new Date(ts).toISOString();
  return t;
}

function messageItem(m) {
  const li = el('li', m.own ? 'msg own' : 'msg');
  li.dataset.seq = String(m.seq);
  li.dataset.id = m.id ?? '';
  const head = el('div', 'head');
  head.append(el('span', 'from', m.own ? `${m.from} (you)` : m.from), time(m.ts));
  li.append(head, el('p', 'text', m.text));
  return li;
}

function pendingItem(e) {
  const li = el('li', e.ack ? 'msg own pending acked' : 'msg own pending');
  li.dataset.pendingId = e.id;
  const head = el('div', 'head');
  head.append(el('span', 'from', `${me} (you)`), el('span', 'state', e.ack ? 'Sent' : 'Sending…'));
  li.append(head, el('p', 'text', e.text));
  return li;
}

function firstPending() {
  return $('messages').querySelector('li.pending');
}

function renderConversation() {
  const list = $('messages');
  list.setAttribute('aria-busy', 'true');  // a screen reader reads the new conversation, not a flood of additions
  list.replaceChildren(...messagesOf(current).map(messageItem));
  syncPending();
  list.removeAttribute('aria-busy');
  list.scrollTop = list.scrollHeight;
  updateOnline();
}

function append(li) {
  const list = $('messages');
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.insertBefore(li, firstPending());
  if (stick) {
    list.scrollTop = list.scrollHeight;
  }
}

/** Makes the pending items at the end of the list match the outbox entries of the conversation. */
function syncPending() {
  if (!current) {
    return;
  }
  const list = $('messages');
  const entries = client.outbox().filter(e => belongsEntry(current, e));
  const wanted = new Set(entries.map(e => e.id));
  for (const li of list.querySelectorAll('li.pending')) {
    if (!wanted.has(li.dataset.pendingId)) {
      li.remove();
    }
  }
  for (const e of entries) {
    const existing = list.querySelector(`li.pending[data-pending-id="${CSS.escape(e.id)}"]`);
    if (!existing) {
      list.append(pendingItem(e));
      list.scrollTop = list.scrollHeight;
    } else if (e.ack && !existing.classList.contains('acked')) {
      existing.replaceWith(pendingItem(e));
    }
  }
}

function convItem(conv, label) {
  const li = el('li');
  const button = el('button', 'conv');
  button.type = 'button';
  const count = unread(conv);
  button.append(el('span', 'name', label));
  if (count > 0) {
    const badge = el('span', 'badge', count > 99 ? '99+' : String(count));
    badge.setAttribute('aria-hidden', 'true');
    button.append(badge);
  }
  button.setAttribute('aria-label', count > 0 ? `${label}, ${count} unread` : label);
  button.dataset.conv = convKey(conv);
  button.dataset.unread = String(count);
  if (isOpen(conv)) {
    button.setAttribute('aria-current', 'true');
  }
  button.addEventListener('click', () => open(conv));
  li.append(button);
  return li;
}

function dmPeers() {
  const peers = new Set(page.dms);
  for (const m of client.messages(client.inbox)) {
    if (peerOf(m)) {
      peers.add(peerOf(m));
    }
  }
  return [...peers];
}

function renderLists() {
  $('rooms').replaceChildren(...client.rooms().filter(isRoomName)
      .map(room => convItem({ kind: 'room', room }, `# ${room}`)));
  $('dms').replaceChildren(...dmPeers().map(peer => convItem({ kind: 'dm', peer }, peer)));
  const total = [...client.rooms().filter(isRoomName).map(room => ({ kind: 'room', room })),
                 ...dmPeers().map(peer => ({ kind: 'dm', peer }))].reduce((n, c) => n + unread(c), 0);
  document.title = total > 0 ? `(${total}) Chat` : 'Chat';
}

function renderPeople() {
  const info = client.roomInfo(lastRoom);
  $('people-heading').textContent = `People in # ${lastRoom}`;
  const users = (info?.users ?? []).filter(u => u !== me).sort();
  $('people').replaceChildren(...users.map(user => {
    const li = el('li');
    const button = el('button', 'person', user);
    button.type = 'button';
    button.setAttribute('aria-label', `Message ${user}`);
    button.addEventListener('click', () => open({ kind: 'dm', peer: user }));
    li.append(button);
    return li;
  }));
  if (users.length === 0) {
    $('people').replaceChildren(el('li', 'empty', 'Nobody else here yet'));
  }
}

function updateOnline() {
  const online = $('online');
  if (current?.kind === 'room') {
    const info = client.roomInfo(current.room);
    online.textContent = info?.joined ? `${info.online} online` : '';
  } else {
    online.textContent = '';
  }
}

function showError(id, text) {
  const p = $(id);
  p.textContent = text;
  p.hidden = !text;
}

// ---- client events ------------------------------------------------------------------------------

function onStatus(s) {
  const bar = $('status');
  bar.dataset.status = s.status;
  bar.dataset.node = client.node ?? '';
  const text = {
    [STATUS.CONNECTING]: 'Connecting…',
    [STATUS.ONLINE]: 'Online',
    [STATUS.RECONNECTING]: s.delayMs > 1000 ? `Reconnecting in ${Math.round(s.delayMs / 1000)} s…` : 'Reconnecting…',
    [STATUS.OFFLINE]: 'Offline',
  }[s.status];
  $('status-text').textContent = text;
  bar.title = s.status === STATUS.ONLINE && client.node ? `connected to node ${client.node}` : (s.reason ?? '');
  $('reconnect').hidden = s.status !== STATUS.OFFLINE || client === null;
  updateOnline();
}

function onMessage(m) {
  if (current && belongs(current, m.room, m)) {
    if (m.own) {
      $('messages').querySelector(`li.pending[data-pending-id="${CSS.escape(m.id ?? '')}"]`)?.remove();
    }
    append(messageItem(m));
    if (!document.hidden) {
      markRead(current);
    }
  }
  if (m.room === client.inbox && peerOf(m)) {
    rememberDm(peerOf(m));
  }
  renderLists();
}

function onPresence(p) {
  if (current?.kind === 'room' && p.room === current.room) {
    const li = el('li', 'notice', `${p.user} ${p.event === 'join' ? 'joined' : 'left'}`);
    append(li);
    updateOnline();
  }
  if (p.room === lastRoom) {
    renderPeople();
  }
}

function onJoined(j) {
  if (!j.recovered && j.room !== client.inbox) {
    // A first join (or a room that lost its history): its replayed past is not news.
    const conv = { kind: 'room', room: j.room };
    page.read[convKey(conv)] = { epoch: j.epoch, seq: j.seq };
    savePage();
  }
  if (current && roomOf(current) === j.room) {
    updateOnline();
  }
  if (j.room === lastRoom) {
    renderPeople();
  }
  renderLists();
}

function onReset(r) {
  if (current && roomOf(current) === r.room) {
    renderConversation();  // what follows is the room's latest history, delivered as messages
  }
}

function onAck(a) {
  syncPending();
}

function onError(e) {
  if (e.entry && e.dropped) {
    showError('composer-error', `Not sent: ${e.message}`);
  } else if (e.code === 'closed' || e.code === 'token_expired') {
    $('status-text').textContent = `Offline: ${e.message}`;
  }
}

// ---- user input ---------------------------------------------------------------------------------

function bindApp() {
  const input = $('message-input');
  $('composer').addEventListener('submit', e => {
    e.preventDefault();
    sendTyped();
  });
  input.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendTyped();
    }
  });
  input.addEventListener('input', () => showError('composer-error', ''));
  $('join-form').addEventListener('submit', e => {
    e.preventDefault();
    const room = $('room-name').value.trim();
    if (!isRoomName(room)) {
      showError('room-error', 'Room names are 1–64 of A–Z, a–z, 0–9, _ . -');
      return;
    }
    showError('room-error', '');
    $('room-name').value = '';
    client.join(room);
    open({ kind: 'room', room });
    input.focus();
  });
  $('dm-form').addEventListener('submit', e => {
    e.preventDefault();
    const peer = $('dm-name').value.trim().normalize('NFC');
    if (!isUserId(peer)) {
      showError('dm-error', 'Not a valid nickname');
      return;
    }
    showError('dm-error', '');
    $('dm-name').value = '';
    open({ kind: 'dm', peer });
    input.focus();
  });
  $('back').addEventListener('click', () => {
    $('app').dataset.view = 'list';
    $('rooms').querySelector('button')?.focus();
  });
  $('logout').addEventListener('click', () => {
    client.close();
    localStorage.removeItem(NICK_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  $('reconnect').addEventListener('click', () => client.connect());
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && current) {
      markRead(current);
      renderLists();
    }
  });
}

function sendTyped() {
  const input = $('message-input');
  const text = input.value;
  const problem = textProblem(text);
  if (problem) {
    if (text.trim() !== '') {
      showError('composer-error', problem);
    }
    return;
  }
  if (current.kind === 'room') {
    client.send(current.room, text);
  } else {
    client.dm(current.peer, text);
  }
  input.value = '';
  showError('composer-error', '');
}

start();
