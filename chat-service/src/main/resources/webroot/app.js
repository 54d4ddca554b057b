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
let page = null;               // this user's page state: dms, read marks of DMs, current conversation
let moderator = false;         // the token carries roles ["moderator"]: may delete anyone's message
let editing = null;            // { room, seq } of the message whose edit form is open
let confirming = null;         // { room, seq } of the message whose delete asks for confirmation
let loadingOlder = false;

// ---- entry ----------------------------------------------------------------------------------

function start() {
  // Auth mode jwt: the app that signed the user in opens this page as /#token=<jwt>.
  const token = takeToken();
  const claims = token && claimsOf(token);
  const subject = claims && isUserId(claims.sub) ? claims.sub : null;
  if (subject) {
    moderator = Array.isArray(claims.roles) && claims.roles.includes('moderator');
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

/**
 * The token's claims, read without checking the signature (the service checks it, and refuses a
 * moderator's delete from a token without the role); null if unreadable.
 */
function claimsOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), c => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
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
  client.on('outbox', () => { syncPending(); refreshItems(); renderLists(); });
  client.on('ack', onAck);
  client.on('update', onUpdate);
  client.on('typing', onTyping);
  client.on('read', onRead);
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

/**
 * Unread messages of a conversation. A room's count follows the user's read position on the
 * service, so reading on another device clears it here. DMs share the inbox's one position, which
 * moves only past conversations read (see markRead); a DM read on this device but not yet covered
 * by that position is remembered here too.
 */
function unread(conv) {
  if (conv.kind === 'room') {
    return client.unread(conv.room);
  }
  const info = client.roomInfo(client.inbox);
  const mark = page.read[convKey(conv)];
  const local = mark && mark.epoch === info?.epoch ? mark.seq : 0;
  const after = Math.max(local, info?.read ?? 0);
  return messagesOf(conv).filter(m => !m.own && !m.deleted && m.seq > after).length;
}

function markRead(conv) {
  const list = messagesOf(conv);
  const seq = list.length ? list[list.length - 1].seq : 0;
  if (seq === 0) {
    return;
  }
  if (conv.kind === 'room') {
    client.markRead(conv.room, seq);
    return;
  }
  const info = client.roomInfo(client.inbox);
  const key = convKey(conv);
  const mark = page.read[key];
  if (!mark || mark.epoch !== info?.epoch || mark.seq < seq) {
    page.read[key] = { epoch: info?.epoch ?? null, seq };
    savePage();
  }
  // The inbox position covers every conversation: move it only up to the first message still
  // unread in another one, so reading alice's DMs does not mark carol's as read.
  let upTo = seq;
  for (const m of client.messages(client.inbox)) {
    const peer = peerOf(m);
    if (m.seq > upTo) {
      break;
    }
    if (!m.own && !m.deleted && peer !== conv.peer && m.seq > Math.max(info?.read ?? 0, page.read[`dm:${peer}`]?.seq ?? 0)) {
      upTo = m.seq - 1;
      break;
    }
  }
  client.markRead(client.inbox, upTo);
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
  editing = null;
  confirming = null;
  renderConversation();
  renderTyping();
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

/** What a message item shows, as a string: an item whose signature changed is drawn again. */
function signature(m) {
  return JSON.stringify([m.text ?? null, !!m.deleted, !!m.edited, m.pending ?? null, m.pendingText ?? null, seen(m),
    isEditing(m), isConfirming(m)]);
}

function isEditing(m) {
  return editing !== null && editing.room === m.room && editing.seq === m.seq;
}

function isConfirming(m) {
  return confirming !== null && confirming.room === m.room && confirming.seq === m.seq;
}

/** Your own direct message that its recipient has read. */
function seen(m) {
  return current?.kind === 'dm' && m.own && m.room === client.inbox && client.readBy(client.inbox, m.seq).includes(m.to);
}

/** Edit and delete are for messages of rooms: your own, or anyone's for a moderator (delete only). */
function canEdit(m) {
  return m.own && !m.deleted && isRoomName(m.room);
}

function canDelete(m) {
  return (m.own || moderator) && !m.deleted && isRoomName(m.room);
}

function messageItem(m) {
  const li = el('li', m.own ? 'msg own' : 'msg');
  li.dataset.seq = String(m.seq);
  li.dataset.id = m.id ?? '';
  li.dataset.sig = signature(m);
  const textId = `text-${m.room}-${m.seq}`;
  const head = el('div', 'head');
  head.append(el('span', 'from', m.own ? `${m.from} (you)` : m.from), time(m.ts));
  if (m.edited && !m.deleted) {
    head.append(el('span', 'edited', '(edited)'));
  }
  if (m.pending === 'edit') {
    head.append(el('span', 'state', 'Saving edit…'));
  } else if (m.pending === 'delete') {
    head.append(el('span', 'state', 'Deleting…'));
  }
  if (seen(m)) {
    head.append(el('span', 'seen', 'Seen'));
  }
  li.append(head);
  if (m.deleted) {
    li.classList.add('deleted');
    li.append(el('p', 'text gone', 'This message was deleted'));
    return li;
  }
  if (isEditing(m)) {
    li.append(editForm(m));
    return li;
  }
  const text = el('p', 'text', m.pending === 'edit' ? m.pendingText : m.text);
  text.id = textId;
  li.append(text);
  const actions = el('div', 'actions');
  if (isConfirming(m)) {
    const question = el('span', 'confirm', 'Delete for everyone?');
    const yes = button('Delete', () => {
      confirming = null;
      client.delete(m.room, m.seq);
      refreshItems();
    }, 'danger');
    yes.setAttribute('aria-describedby', textId);
    yes.dataset.action = 'confirm-delete';
    const no = button('Cancel', () => {
      confirming = null;
      refreshItems();
      focusAction(m.seq, 'delete');
    });
    actions.append(question, yes, no);
    li.append(actions);
    return li;
  }
  if (canEdit(m) && !m.pending) {
    const b = button('Edit', () => {
      editing = { room: m.room, seq: m.seq };
      confirming = null;
      refreshItems();
      $('messages').querySelector(`li[data-seq="${m.seq}"] textarea`)?.focus();
    });
    b.setAttribute('aria-label', m.own ? 'Edit your message' : 'Edit message');
    b.setAttribute('aria-describedby', textId);
    b.dataset.action = 'edit';
    actions.append(b);
  }
  if (canDelete(m) && !m.pending) {
    const b = button('Delete', () => {
      confirming = { room: m.room, seq: m.seq };
      editing = null;
      refreshItems();
      focusAction(m.seq, 'confirm-delete');
    });
    b.setAttribute('aria-label', m.own ? 'Delete your message' : `Delete ${m.from}'s message`);
    b.setAttribute('aria-describedby', textId);
    b.dataset.action = 'delete';
    actions.append(b);
  }
  if (actions.childElementCount > 0) {
    li.append(actions);
  }
  return li;
}

function button(label, onClick, className) {
  const b = el('button', className ? `small ${className}` : 'small', label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function focusAction(seq, action) {
  $('messages').querySelector(`li[data-seq="${seq}"] button[data-action="${action}"]`)?.focus();
}

function editForm(m) {
  const form = el('form', 'edit-form');
  form.noValidate = true;
  const label = el('label', 'visually-hidden', 'Edit message');
  const area = el('textarea');
  area.id = `edit-${m.seq}`;
  label.htmlFor = area.id;
  area.rows = 2;
  area.value = m.text ?? '';
  const error = el('p', 'error');
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const cancel = () => {
    editing = null;
    refreshItems();
    focusAction(m.seq, 'edit');
  };
  const save = () => {
    const problem = textProblem(area.value);
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    editing = null;
    if (area.value !== m.text) {
      client.edit(m.room, m.seq, area.value);
    }
    refreshItems();
    $('message-input').focus();
  };
  area.addEventListener('keydown', e => {
    if (e.key === 'Escape') {
      e.preventDefault();
      cancel();
    } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      save();
    }
  });
  form.addEventListener('submit', e => {
    e.preventDefault();
    save();
  });
  const saveButton = el('button', 'small', 'Save');
  saveButton.type = 'submit';
  form.append(label, area, saveButton, button('Cancel', cancel), error);
  return form;
}

/** Draws again every message item of the open conversation whose content changed. */
function refreshItems() {
  if (!current) {
    return;
  }
  const list = $('messages');
  const focused = document.activeElement;
  for (const m of messagesOf(current)) {
    const li = list.querySelector(`li.msg[data-seq="${m.seq}"]:not(.pending)`);
    if (li && li.dataset.sig !== signature(m)) {
      if (isEditing(m) && li.querySelector('form.edit-form')?.contains(focused)) {
        continue;  // never pull an open edit form from under the user's keyboard
      }
      li.replaceWith(messageItem(m));
    }
  }
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
  const scroller = $('scroller');
  scroller.scrollTop = scroller.scrollHeight;
  updateOnline();
  updateOlder();
}

function append(li) {
  const list = $('messages');
  const scroller = $('scroller');
  const stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  list.insertBefore(li, firstPending());
  if (stick) {
    scroller.scrollTop = scroller.scrollHeight;
  }
}

function updateOlder() {
  const info = current && client.roomInfo(roomOf(current));
  $('load-older').hidden = !info?.hasOlder;
  $('load-older').disabled = loadingOlder;
  if (!loadingOlder) {
    $('older-status').textContent = info && !info.hasOlder && messagesOf(current).length > 0 ? 'Beginning of the conversation' : '';
  }
}

/** Loads the page before the oldest message shown and keeps the view where it was. */
async function loadOlder() {
  const conv = current;
  const info = client.roomInfo(roomOf(conv));
  if (loadingOlder || !info?.hasOlder) {
    return;
  }
  loadingOlder = true;
  $('older-status').textContent = 'Loading older messages…';
  updateOlder();
  const scroller = $('scroller');
  try {
    // A DM conversation is the part of the inbox with one person: page on until some of it shows.
    let added = [];
    for (let i = 0; i < 5 && added.length === 0; i++) {
      const page = await client.loadOlder(roomOf(conv));
      added = page.messages.filter(m => belongs(conv, m.room, m));
      if (!page.more) {
        break;
      }
    }
    if (current !== conv) {
      return;
    }
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    const list = $('messages');
    const first = list.firstElementChild;
    for (const m of messagesOf(conv).filter(x => added.some(a => a.seq === x.seq))) {
      list.insertBefore(messageItem(m), first);
    }
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    $('older-status').textContent = added.length ? `Loaded ${added.length} older messages` : '';
  } catch (e) {
    $('older-status').textContent = `Could not load older messages: ${e.message}`;
  } finally {
    loadingOlder = false;
    updateOlder();
  }
}

function renderTyping() {
  const users = current?.kind === 'room' ? client.typingUsers(current.room) : [];
  let text = '';
  if (users.length === 1) {
    text = `${users[0]} is typing…`;
  } else if (users.length === 2) {
    text = `${users[0]} and ${users[1]} are typing…`;
  } else if (users.length > 2) {
    text = `${users.length} people are typing…`;
  }
  $('typing').textContent = text;
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
    renderTyping();
    updateOlder();
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
  if (!j.recovered && j.room !== client.inbox && j.read?.[me] === undefined) {
    // A room this user never read anywhere: its replayed past is not news.
    client.markRead(j.room, j.seq);
  }
  if (current && roomOf(current) === j.room) {
    updateOnline();
    updateOlder();
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

function onUpdate(u) {
  if (current && u.message && belongs(current, u.room, u.message)) {
    if (editing && editing.seq === u.seq && u.kind === 'delete') {
      editing = null;
    }
    refreshItems();
  }
  renderLists();
}

function onTyping(t) {
  if (current?.kind === 'room' && t.room === current.room) {
    renderTyping();
  }
}

function onRead(r) {
  if (current && roomOf(current) === r.room) {
    refreshItems();  // "Seen" on your own direct messages
  }
  renderLists();
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
  input.addEventListener('input', () => {
    showError('composer-error', '');
    if (current?.kind === 'room' && input.value.trim() !== '') {
      client.typing(current.room);
    }
  });
  $('load-older').addEventListener('click', () => loadOlder());
  // Scrolling up near the top loads more. Only the user's own gestures count: scroll events also
  // come from the page itself (a conversation drawn afresh starts at the top). The wheel also works
  // when there are too few messages to scroll; the keyboard has the button.
  const nearTop = () => $('scroller').scrollTop < 40;
  $('scroller').addEventListener('wheel', e => {
    if (e.deltaY < 0 && nearTop()) {
      loadOlder();
    }
  }, { passive: true });
  let touchY = null;
  $('scroller').addEventListener('touchstart', e => { touchY = e.touches[0]?.clientY ?? null; }, { passive: true });
  $('scroller').addEventListener('touchmove', e => {
    const y = e.touches[0]?.clientY;
    if (touchY !== null && y > touchY && nearTop()) {
      loadOlder();
    }
  }, { passive: true });
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
