// The v1.1 features of the client library (chat-client.js) against real service nodes on one real
// Redis: older history, typing, read receipts across devices and users, edit and delete through
// the outbox, and the message list applying edits and deletes live, on replay and on older pages.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startNode, startRedis, unique, waitFor } from '../lib/cluster.js';
import { copyStorage, MemoryStorage, testClient } from '../lib/clients.js';

/** Sends `texts` one after another from `c` into `room` and waits until all are stored; returns their seqs. */
async function sendAll(c, room, texts) {
  const entries = texts.map(t => c.client.send(room, t));
  const acks = await Promise.all(entries.map(e => c.waitEvent('ack', a => a.id === e.id, 20_000)));
  return acks.map(a => a.seq);
}

/** The text of every held message of `room`, `~` for a deleted one. */
function shown(c, room) {
  return c.client.messages(room).map(m => (m.deleted ? '~' : m.text));
}

describe('chat-client.js v1.1 features against two nodes on one Redis', () => {
  let redis;
  let a;
  let b;
  const clients = [];
  const make = opts => {
    const c = testClient(opts);
    clients.push(c);
    return c;
  };
  const joinAll = async (room, ...cs) => {
    for (const c of cs) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
  };

  before(async () => {
    redis = await startRedis();
    const env = { CHAT_HISTORY_ON_JOIN: '10' };
    [a, b] = await Promise.all([
      startNode({ name: unique('feat-a-'), redisUrl: redis.url, env }),
      startNode({ name: unique('feat-b-'), redisUrl: redis.url, env }),
    ]);
  });

  after(async () => {
    for (const c of clients) {
      c.client.close();
    }
    await Promise.all([a?.kill(), b?.kill()]);
    await redis?.stop();
  });

  test('loadOlder pages back through the stored history until there is no more', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    await joinAll(room, alice);
    const texts = Array.from({ length: 35 }, (_, i) => `m${i + 1}`);
    await sendAll(alice, room, texts);

    const bob = make({ url: b.wsUrl, user: unique('bob') });
    await joinAll(room, bob);
    await waitFor('bob got the latest 10', () => bob.messages(room).length === 10);
    assert.equal(bob.client.roomInfo(room).hasOlder, true);

    const page1 = await bob.client.loadOlder(room, 20);
    assert.deepEqual(page1.messages.map(m => m.text), texts.slice(5, 25));
    assert.equal(page1.more, true);
    const ask = bob.wire.sent.filter(f => f.type === 'history');
    assert.deepEqual(ask.map(f => [f.before, f.limit]), [[26, 20]]);

    // Two calls while one is under way share the request.
    const p2 = bob.client.loadOlder(room, 20);
    assert.equal(bob.client.loadOlder(room, 20), p2);
    const page2 = await p2;
    assert.deepEqual(page2.messages.map(m => m.text), texts.slice(0, 5));
    assert.equal(page2.more, false);
    assert.equal(bob.client.roomInfo(room).hasOlder, false);
    const page3 = await bob.client.loadOlder(room);
    assert.deepEqual(page3.messages, []);
    assert.equal(bob.wire.sent.filter(f => f.type === 'history').length, 2, 'nothing asked once nothing is older');
    assert.deepEqual(shown(bob, room), texts);

    // Paged messages are not delivery-tracked: bob acks only what was delivered live or replayed.
    await waitFor('bob acked the last', () => bob.wire.sent.some(f => f.type === 'ack' && f.room === room && f.seq === 35));
    assert.equal(bob.of('message').filter(m => m.room === room).length, 10, 'paged messages are no message events');
  });

  test('typing is throttled to one frame a second, shown to others with an expiry, and cleared by a message', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user: unique('bob'), typingShowMs: 2500 });
    await joinAll(room, alice, bob);

    const sent = [];
    for (let i = 0; i < 10; i++) {
      sent.push(alice.client.typing(room));
    }
    assert.deepEqual(sent, [true, ...Array(9).fill(false)]);
    assert.equal(alice.wire.sent.filter(f => f.type === 'typing').length, 1);
    const on = await bob.waitEvent('typing', t => t.user === alice.client.user && t.typing);
    assert.ok(on.expiresAt > Date.now() && on.expiresAt <= Date.now() + 2500, `expires at ${on.expiresAt}`);
    assert.deepEqual(bob.client.typingUsers(room), [alice.client.user]);
    // The indicator goes away by itself.
    const off = await bob.waitEvent('typing', t => t.user === alice.client.user && !t.typing, 5000);
    assert.ok(Date.now() >= on.expiresAt - 50);
    assert.deepEqual(off.users, []);
    assert.deepEqual(bob.client.typingUsers(room), []);
    assert.equal(alice.of('typing').length, 0, 'nobody is told about their own typing');

    // A second later typing goes out again; a message from alice clears it before it expires.
    await waitFor('the throttle lets one through', () => alice.client.typing(room), 3000, 100);
    const from = bob.of('typing').length;
    const again = await bob.waitEvent('typing', t => t.typing, 5000, from);
    const entry = alice.client.send(room, 'done typing');
    await bob.waitEvent('message', m => m.id === entry.id);
    assert.ok(Date.now() < again.expiresAt, 'the message came before the indicator would expire');
    assert.deepEqual(bob.client.typingUsers(room), [], 'cleared by the message');
    const cleared = bob.of('typing').slice(from).find(t => !t.typing);
    assert.equal(cleared.user, alice.client.user);
  });

  test('markRead is coalesced, follows the user across devices, and tells the others', async () => {
    const room = unique('r-');
    const user = unique('alice');
    const laptop = make({ url: a.wsUrl, user });
    const phone = make({ url: b.wsUrl, user });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    await joinAll(room, laptop, phone, bob);
    const seqs = await sendAll(bob, room, ['one', 'two', 'three']);
    await waitFor('both devices have 3 unread', () => laptop.client.unread(room) === 3 && phone.client.unread(room) === 3);

    for (const seq of seqs) {
      laptop.client.markRead(room, seq);
    }
    assert.equal(laptop.client.unread(room), 0, 'the unread count follows at once');
    const gotRead = await phone.waitEvent('read', r => r.room === room && r.user === user && r.seq === seqs[2]);
    assert.equal(gotRead.own, true);
    assert.equal(gotRead.unread, 0);
    assert.equal(phone.client.unread(room), 0, 'read on the laptop clears the phone');
    const frames = laptop.wire.sent.filter(f => f.type === 'read');
    assert.deepEqual(frames.map(f => f.seq), [seqs[2]], 'three calls, one frame');
    await bob.waitEvent('read', r => r.user === user && r.seq === seqs[2]);
    assert.deepEqual(bob.client.readBy(room, seqs[2]), [user]);

    // Positions only move forward: an older mark sends nothing.
    laptop.client.markRead(room, seqs[0]);
    await new Promise(r => setTimeout(r, 600));
    assert.equal(laptop.wire.sent.filter(f => f.type === 'read').length, 1);

    // A new device learns the position from joined.read.
    const tablet = make({ url: a.wsUrl, user });
    await joinAll(room, tablet);
    const joined = tablet.of('joined').find(j => j.room === room);
    assert.equal(joined.read[user], seqs[2]);
    assert.equal(tablet.client.unread(room), 0);
    await sendAll(bob, room, ['four']);
    await waitFor('one unread everywhere', () => [laptop, phone, tablet].every(c => c.client.unread(room) === 1));
  });

  test('a read made while offline is sent once the room is joined again', async () => {
    const room = unique('r-');
    const user = unique('alice');
    const storage = new MemoryStorage();
    const alice = make({ url: a.wsUrl, user, storage });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    await joinAll(room, alice, bob);
    const [seq] = await sendAll(bob, room, ['read me later']);
    await waitFor('alice has it', () => alice.client.unread(room) === 1);
    alice.client.close();
    const offline = make({ url: a.wsUrl, user, storage });
    offline.client.markRead(room, seq);
    assert.equal(offline.client.unread(room), 0);
    offline.client.close();  // the page closed before it could say so

    const later = make({ url: b.wsUrl, user, storage });
    later.client.connect();
    await waitFor('the read frame', () => later.wire.sent.some(f => f.type === 'read' && f.room === room && f.seq === seq));
    await bob.waitEvent('read', r => r.user === user && r.seq === seq);
  });

  test('a direct message read by its recipient shows as seen in the sender\'s inbox', async () => {
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    for (const c of [alice, bob]) {
      c.client.connect();
      await c.waitJoined(c.client.inbox);
    }
    const entry = alice.client.dm(bob.client.user, 'did you see this?');
    const mine = await alice.waitEvent('message', m => m.id === entry.id);
    const theirs = await bob.waitEvent('message', m => m.id === entry.id);
    assert.deepEqual(alice.client.readBy(alice.client.inbox, mine.seq), []);
    bob.client.markRead(bob.client.inbox, theirs.seq);
    const seen = await alice.waitEvent('read', r => r.room === alice.client.inbox && r.user === bob.client.user);
    assert.equal(seen.seq, mine.seq, 'the seq of alice\'s own copy');
    assert.deepEqual(alice.client.readBy(alice.client.inbox, mine.seq), [bob.client.user]);
  });

  test('edits and deletes reach everyone live and are applied to the message list', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    await joinAll(room, alice, bob);
    const [s1, s2] = await sendAll(alice, room, ['helo', 'oops']);

    const edit = alice.client.edit(room, s1, 'hello');
    assert.equal(alice.client.outbox()[0].kind, 'edit');
    assert.equal(alice.client.messages(room).find(m => m.seq === s1).pending, 'edit');
    const update = await bob.waitEvent('update', u => u.seq === s1);
    assert.equal(update.kind, 'edit');
    assert.equal(update.text, 'hello');
    assert.equal(update.by, alice.client.user);
    assert.equal(update.message.text, 'hello');
    const ack = await alice.waitEvent('ack', x => x.id === edit.id);
    assert.ok(ack.seq > s2, 'an edit is a new entry of the stream');
    await waitFor('alice outbox empty', () => alice.client.outbox().length === 0);
    alice.client.delete(room, s2);
    await bob.waitEvent('update', u => u.seq === s2 && u.kind === 'delete');
    await waitFor('alice applied both', () => JSON.stringify(shown(alice, room)) === '["hello","~"]');
    assert.deepEqual(shown(bob, room), ['hello', '~']);
    const held = bob.client.messages(room);
    assert.equal(held[0].edited, true);
    assert.equal(held[1].deleted, true);
    assert.equal(held[1].text, undefined);
    assert.equal(bob.of('message').filter(m => m.room === room).length, 2, 'edits and deletes are not new messages');

    // Someone else's message, and a seq that names no message: refused, dropped from the outbox.
    const forbidden = bob.client.edit(room, s1, 'bob was here');
    const e1 = await bob.waitEvent('error', e => e.id === forbidden.id);
    assert.equal(e1.code, 'forbidden');
    assert.equal(e1.dropped, true);
    const nothing = alice.client.delete(room, 10_000);
    const e2 = await alice.waitEvent('error', e => e.id === nothing.id);
    assert.equal(e2.code, 'bad_request');
    assert.equal(e2.dropped, true);
    await waitFor('outboxes empty', () => alice.client.outbox().length === 0 && bob.client.outbox().length === 0);
    assert.deepEqual(shown(bob, room), ['hello', '~']);
  });

  test('a resumed client applies edits and deletes it missed; a new one applies them to older pages too', async () => {
    const room = unique('r-');
    const user = unique('carol');
    const storage = new MemoryStorage();
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const carol = make({ url: b.wsUrl, user, storage });
    await joinAll(room, alice, carol);
    const texts = Array.from({ length: 15 }, (_, i) => `m${i + 1}`);
    const seqs = await sendAll(alice, room, texts);
    await waitFor('carol has 15', () => carol.client.messages(room).length === 15);
    carol.client.close();

    // While carol is away: m1 edited twice, m2 deleted, m15 edited.
    for (const [kind, seq, text] of [['edit', seqs[0], 'm1 v2'], ['edit', seqs[0], 'm1 v3'], ['delete', seqs[1]], ['edit', seqs[14], 'm15 v2']]) {
      const e = kind === 'edit' ? alice.client.edit(room, seq, text) : alice.client.delete(room, seq);
      await alice.waitEvent('ack', x => x.id === e.id);
    }
    const expected = ['m1 v3', '~', ...texts.slice(2, 14), 'm15 v2'];

    const back = make({ url: a.wsUrl, user, storage });
    back.client.connect();
    const joined = await back.waitEvent('joined', j => j.room === room);
    assert.equal(joined.recovered, true);
    await waitFor('carol applied what she missed', () => JSON.stringify(shown(back, room)) === JSON.stringify(expected));
    assert.equal(back.messages(room).length, 0, 'no new messages, only updates');
    assert.equal(back.of('update').filter(u => u.room === room).length, 4);

    // Dave joins fresh: he is replayed the latest 10 entries, which hold the edits and the delete
    // of messages he does not have yet. The older pages bring those messages with the changes applied.
    const dave = make({ url: b.wsUrl, user: unique('dave') });
    await joinAll(room, dave);
    await waitFor('dave got the replay', () => dave.client.roomInfo(room).seq === seqs[14] + 4);
    const early = dave.of('update').filter(u => u.seq === seqs[0] || u.seq === seqs[1]);
    assert.ok(early.length >= 2 && early.every(u => u.message === null), 'updates of messages not held');
    // The same state after a reload, before the older pages come.
    dave.client.close();
    const reloaded = make({ url: a.wsUrl, user: dave.client.user, storage: copyStorage(dave.storage) });
    reloaded.client.connect();
    await reloaded.waitJoined(room);
    while (reloaded.client.roomInfo(room).hasOlder) {
      await reloaded.client.loadOlder(room, 4);
    }
    assert.deepEqual(shown(reloaded, room), expected);
  });

  test('an older edit on an older page does not undo a newer one, and a delete stays deleted', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    await joinAll(room, alice);
    const [s1, s2] = await sendAll(alice, room, ['first', 'second']);
    for (const [kind, seq, text] of [['edit', s1, 'first v2'], ['delete', s2], ['edit', s2, 'too late']]) {
      const e = kind === 'edit' ? alice.client.edit(room, seq, text) : alice.client.delete(room, seq);
      await waitFor(`${kind} settled`, () => alice.of('ack').some(x => x.id === e.id) || alice.of('error').some(x => x.id === e.id));
    }
    await sendAll(alice, room, Array.from({ length: 10 }, (_, i) => `filler ${i}`));
    const e = alice.client.edit(room, s1, 'first v3');
    const last = (await alice.waitEvent('ack', x => x.id === e.id)).seq;

    const bob = make({ url: b.wsUrl, user: unique('bob') });
    await joinAll(room, bob);
    await waitFor('bob has the replay', () => bob.client.roomInfo(room).seq === last);
    while (bob.client.roomInfo(room).hasOlder) {
      await bob.client.loadOlder(room, 3);
    }
    const list = shown(bob, room);
    assert.equal(list[0], 'first v3');
    assert.equal(list[1], '~');
  });

  test('an edit and a delete through the outbox reach the service once across a reconnect and a reload', async () => {
    const room = unique('r-');
    const user = unique('alice');
    const storage = new MemoryStorage();
    const flaky = await startNode({ name: unique('flaky-'), redisUrl: redis.url });
    try {
      const alice = make({ url: [flaky.wsUrl, a.wsUrl], user, storage, connectTimeoutMs: 2000 });
      const bob = make({ url: b.wsUrl, user: unique('bob') });
      await joinAll(room, alice, bob);
      assert.equal(alice.client.node, flaky.name);
      const [s1, s2] = await sendAll(alice, room, ['to edit', 'to delete']);

      // The node freezes with the edit in its socket: alice gives it up, reconnects to the other
      // node and sends the same id again. When the frozen node thaws it may still store its copy.
      flaky.pause();
      const edit = alice.client.edit(room, s1, 'edited once');
      const del = alice.client.delete(room, s2);
      const away = alice.of('status').length;
      await alice.waitEvent('status', s => s.status === 'reconnecting', 8000, away);
      await waitFor('alice on the other node', () => alice.client.status === 'online' && alice.client.node === a.name, 15_000);
      flaky.resume();
      await alice.waitEvent('ack', x => x.id === edit.id, 10_000);
      await alice.waitEvent('ack', x => x.id === del.id, 10_000);
      await waitFor('alice outbox empty', () => alice.client.outbox().length === 0);
      assert.equal(alice.wire.sent.filter(f => f.type === 'edit' && f.id === edit.id).length, 2, 'sent on both connections');

      // A reload that kept the entries from before the acks re-sends them once more.
      const stale = copyStorage(storage);
      stale.setItem(`chat:v1:${user}:outbox`, JSON.stringify([
        { id: edit.id, kind: 'edit', room, seq: s1, text: 'edited once', createdAt: 1 },
        { id: del.id, kind: 'delete', room, seq: s2, createdAt: 2 },
      ]));
      const reloaded = make({ url: b.wsUrl, user, storage: stale });
      reloaded.client.connect();
      const ack = await waitFor('the re-sent edit acked', () => reloaded.wire.received.find(f => f.type === 'ack' && f.id === edit.id));
      assert.equal(ack.seq, alice.of('ack').find(x => x.id === edit.id).seq, 'the same ack: stored once');
      await waitFor('reloaded outbox empty', () => reloaded.client.outbox().length === 0);

      // Everyone sees each change once; history holds one entry per id.
      await new Promise(r => setTimeout(r, 500));
      assert.equal(bob.of('update').filter(u => u.room === room && u.kind === 'edit').length, 1);
      assert.equal(bob.of('update').filter(u => u.room === room && u.kind === 'delete').length, 1);
      const carol = make({ url: a.wsUrl, user: unique('carol') });
      await joinAll(room, carol);
      await waitFor('carol replayed', () => carol.client.roomInfo(room).seq >= ack.seq);
      const entries = carol.wire.received.filter(f => f.type === 'message' && f.room === room);
      assert.equal(entries.filter(f => f.id === edit.id).length, 1);
      assert.equal(entries.filter(f => f.id === del.id).length, 1);
      assert.deepEqual(shown(carol, room), ['edited once', '~']);
      assert.deepEqual(shown(bob, room), ['edited once', '~']);
    } finally {
      flaky.resume();
      await flaky.kill();
    }
  });

  test('an edit typed while offline waits in the persisted outbox and is applied after the connect', async () => {
    const room = unique('r-');
    const user = unique('alice');
    const storage = new MemoryStorage();
    const alice = make({ url: a.wsUrl, user, storage });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    await joinAll(room, alice, bob);
    const [seq] = await sendAll(alice, room, ['draft']);
    alice.client.close();
    const offline = make({ url: a.wsUrl, user, storage });
    offline.client.edit(room, seq, 'final');
    assert.equal(JSON.parse(storage.getItem(`chat:v1:${user}:outbox`))[0].kind, 'edit');
    offline.client.close();
    const later = make({ url: b.wsUrl, user, storage });
    later.client.connect();
    await bob.waitEvent('update', u => u.seq === seq && u.text === 'final');
    await waitFor('applied on alice too', () => later.client.messages(room)[0]?.text === 'final');
    await waitFor('outbox empty', () => later.client.outbox().length === 0);
  });
});

describe('chat-client.js moderators (auth mode jwt, roles in the token)', () => {
  const SECRET = crypto.randomBytes(32).toString('hex');
  let node;
  const clients = [];

  function token(sub, roles) {
    const b64 = v => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = b64({ alg: 'HS256', typ: 'JWT' });
    const body = b64({ sub, exp: Math.floor(Date.now() / 1000) + 600, ...(roles ? { roles } : {}) });
    const sig = crypto.createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  const make = (user, roles) => {
    const c = testClient({ url: node.wsUrl, user, token: token(user, roles) });
    clients.push(c);
    return c;
  };

  before(async () => {
    node = await startNode({ name: unique('feat-jwt-'), env: { CHAT_AUTH: 'jwt', CHAT_JWT_SECRET: SECRET } });
  });

  after(async () => {
    for (const c of clients) {
      c.client.close();
    }
    await node?.kill();
  });

  test('a moderator may delete anyone\'s message but not edit it; others may do neither', async () => {
    const room = unique('r-');
    const alice = make(unique('alice'));
    const mod = make(unique('mod'), ['moderator']);
    const bob = make(unique('bob'));
    for (const c of [alice, mod, bob]) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
    const [seq] = await sendAll(alice, room, ['spam']);
    const byBob = bob.client.delete(room, seq);
    assert.equal((await bob.waitEvent('error', e => e.id === byBob.id)).code, 'forbidden');
    const edit = mod.client.edit(room, seq, 'moderated');
    assert.equal((await mod.waitEvent('error', e => e.id === edit.id)).code, 'forbidden');
    const del = mod.client.delete(room, seq);
    await mod.waitEvent('ack', x => x.id === del.id);
    const update = await alice.waitEvent('update', u => u.seq === seq && u.kind === 'delete');
    assert.equal(update.by, mod.client.user);
    await waitFor('bob sees it deleted', () => bob.client.messages(room)[0]?.deleted === true);
  });
});
