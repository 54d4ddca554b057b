// The client library (chat-client.js) against real service nodes on one real Redis.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { startNode, startRedis, unique, waitFor } from '../lib/cluster.js';
import { copyStorage, MemoryStorage, testClient } from '../lib/clients.js';
import { backoffDelay, closePolicy, isUserId, textProblem } from '../../chat-service/src/main/resources/webroot/chat-client.js';

describe('chat-client.js decisions', () => {
  test('the close code decides how to reconnect', () => {
    assert.equal(closePolicy(1012), 'now');
    assert.equal(closePolicy(1013), 'overloaded');
    assert.equal(closePolicy(4002), 'token');
    assert.equal(closePolicy(4003), 'disconnected');
    for (const code of [1002, 1003, 1007, 1008, 1009]) {
      assert.equal(closePolicy(code), 'stop', `close ${code}`);
    }
    for (const code of [1000, 1001, 1006, 1011, 4000, 4001]) {
      assert.equal(closePolicy(code), 'backoff', `close ${code}`);
    }
  });

  test('backoff is exponential with full jitter and capped', () => {
    assert.equal(backoffDelay(0, 500, 30_000, () => 0), 0);
    assert.equal(backoffDelay(0, 500, 30_000, () => 0.999_999), 499);
    assert.equal(backoffDelay(3, 500, 30_000, () => 0.999_999), 3999);
    assert.equal(backoffDelay(20, 500, 30_000, () => 0.999_999), 29_999);
    const seen = new Set(Array.from({ length: 200 }, () => backoffDelay(4, 500, 30_000)));
    assert.ok([...seen].every(d => d >= 0 && d < 8000), 'within [0, 8000)');
    assert.ok(seen.size > 50, 'spread over the range');
  });

  test('user ids and message texts are checked as the service checks them', () => {
    for (const ok of ['alice', 'Zoë', '李雷', 'bob_2', 'a.b-c', 'x'.repeat(32)]) {
      assert.ok(isUserId(ok), ok);
    }
    for (const bad of ['', 'a b', 'x'.repeat(33), '<img>', 'a@b']) {
      assert.ok(!isUserId(bad), bad);
    }
    assert.match(textProblem('   '), /empty/);
    assert.match(textProblem('😀'.repeat(4001)), /4000/);
    assert.equal(textProblem('😀'.repeat(4000)), null);
  });
});

describe('chat-client.js when the app\'s backend disconnects the user (4003)', () => {
  // The service sends 4003 from its server API (POST /api/users/{user}/disconnect); this peer
  // speaks just enough of the protocol (a welcome, then that close) to drive the client over a
  // real socket whether or not the node under test has the server API.
  let server;
  let connections = 0;

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', ws => {
      connections++;
      ws.send(JSON.stringify({
        type: 'welcome', user: 'dave', connId: `c-${connections}`, node: 'peer',
        heartbeat: { intervalMs: 25_000, timeoutMs: 60_000 }, ackTimeoutMs: 5_000,
      }));
      ws.once('message', () => ws.close(4003, 'disconnected by the application'));
    });
    await new Promise(resolve => server.once('listening', resolve));
  });

  after(() => new Promise(resolve => server.close(resolve)));

  test('goes offline, emits disconnected, does not reconnect, and connect() connects again', async () => {
    const url = `ws://127.0.0.1:${server.address().port}/ws`;
    const dave = testClient({ url, user: 'dave' });
    const disconnected = [];
    dave.client.on('disconnected', d => disconnected.push({ ...d, status: dave.client.status }));
    dave.client.connect();
    await waitFor('the disconnected event', () => disconnected.length === 1);
    assert.deepEqual(disconnected[0], { closeCode: 4003, reason: 'disconnected by the application', status: 'offline' });
    const offline = dave.of('status').at(-1);
    assert.equal(offline.status, 'offline');
    assert.equal(offline.policy, 'disconnected');
    // A reconnect would have been announced as `reconnecting` when the close was handled.
    assert.equal(dave.of('status').filter(s => s.status === 'reconnecting').length, 0);
    assert.equal(dave.of('error').length, 0, 'a disconnect is not an error');
    assert.equal(connections, 1);

    dave.client.connect();
    await waitFor('the second disconnected event', () => disconnected.length === 2);
    assert.equal(connections, 2);
    dave.client.close();
  });
});

describe('chat-client.js against two nodes on one Redis', () => {
  let redis;
  let a;
  let b;
  const clients = [];
  const make = opts => {
    const c = testClient(opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
    const env = { CHAT_ACK_TIMEOUT_MS: '400' };
    [a, b] = await Promise.all([
      startNode({ name: unique('lib-a-'), redisUrl: redis.url, env }),
      startNode({ name: unique('lib-b-'), redisUrl: redis.url, env }),
    ]);
  });

  after(async () => {
    for (const c of clients) {
      c.client.close();
    }
    await Promise.all([a?.kill(), b?.kill()]);
    await redis?.stop();
  });

  test('connects, reports connecting then online, and joins its inbox and its rooms', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    alice.client.join(room);
    alice.client.connect();
    await alice.waitOnline();
    await alice.waitJoined(room);
    await alice.waitJoined(alice.client.inbox);
    assert.deepEqual(alice.of('status').map(s => s.status).slice(0, 2), ['connecting', 'online']);
    assert.equal(alice.client.node, a.name);
  });

  test('a message sent on one node reaches a client on the other once; the ack empties the outbox', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    for (const c of [alice, bob]) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
    const entry = alice.client.send(room, 'hello from A');
    assert.equal(alice.client.outbox().length, 1);
    const got = await bob.waitEvent('message', m => m.id === entry.id);
    assert.equal(got.text, 'hello from A');
    assert.equal(got.from, alice.client.user);
    const ack = await alice.waitEvent('ack', x => x.id === entry.id);
    assert.equal(ack.seq, got.seq);
    await waitFor('alice outbox empty', () => alice.client.outbox().length === 0);
    await alice.waitEvent('message', m => m.id === entry.id && m.own);
    assert.equal(bob.messages(room).length, 1);
  });

  test('a direct message lands in both inboxes, across nodes', async () => {
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    for (const c of [alice, bob]) {
      c.client.connect();
      await c.waitJoined(c.client.inbox);
    }
    const entry = alice.client.dm(bob.client.user, 'psst');
    const theirs = await bob.waitEvent('message', m => m.id === entry.id);
    assert.equal(theirs.room, bob.client.inbox);
    assert.equal(theirs.to, bob.client.user);
    const mine = await alice.waitEvent('message', m => m.id === entry.id);
    assert.equal(mine.room, alice.client.inbox);
    assert.ok(mine.own);
    await waitFor('alice outbox empty', () => alice.client.outbox().length === 0);
  });

  test('acknowledges cumulatively and in batches, up to the last message', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    for (const c of [alice, bob]) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
    for (let i = 0; i < 60; i++) {
      alice.client.send(room, `m${i}`);
    }
    await waitFor('bob got 60', () => bob.messages(room).length === 60);
    const last = bob.messages(room).at(-1).seq;
    await waitFor('bob acked the last', () => bob.wire.sent.some(f => f.type === 'ack' && f.room === room && f.seq === last));
    const acks = bob.wire.sent.filter(f => f.type === 'ack' && f.room === room);
    assert.ok(acks.length < 60 / 4, `${acks.length} ack frames for 60 messages`);
    assert.deepEqual(bob.messages(room).map(m => m.text), Array.from({ length: 60 }, (_, i) => `m${i}`));
  });

  test('shows a redelivered message once (de-duplication by room and seq) and acks it', async () => {
    const room = unique('r-');
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    // Acks slower than the node's 400 ms ack timeout: the node redelivers before the ack.
    const bob = make({ url: b.wsUrl, user: unique('bob'), ackDelayMs: 1500, ackEvery: 1000 });
    for (const c of [alice, bob]) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
    const entry = alice.client.send(room, 'say it once');
    await waitFor('a redelivery to bob', () => bob.wire.received.some(f => f.type === 'message' && f.id === entry.id && f.redelivered));
    const seq = bob.wire.received.find(f => f.id === entry.id).seq;
    await waitFor('bob acked it', () => bob.wire.sent.some(f => f.type === 'ack' && f.room === room && f.seq >= seq), 5000);
    assert.equal(bob.messages(room).filter(m => m.id === entry.id).length, 1);
    assert.equal(bob.client.messages(room).filter(m => m.id === entry.id).length, 1);
  });

  test('keeps messages typed while offline in the persisted outbox and sends each once later', async () => {
    const room = unique('r-');
    const user = unique('alice');
    const storage = new MemoryStorage();
    const offline = make({ url: a.wsUrl, user, storage });  // never connected: the page was closed
    const e1 = offline.client.send(room, 'typed offline 1');
    const e2 = offline.client.send(room, 'typed offline 2');
    const bob = make({ url: b.wsUrl, user: unique('bob') });
    const e3 = offline.client.dm(bob.client.user, 'dm typed offline');
    assert.equal(JSON.parse(storage.getItem(`chat:v1:${user}:outbox`)).length, 3);

    bob.client.join(room).connect();
    await bob.waitJoined(room);
    await bob.waitJoined(bob.client.inbox);
    const later = make({ url: a.wsUrl, user, storage });  // the page opened again
    assert.deepEqual(later.client.outbox().map(e => e.id), [e1.id, e2.id, e3.id]);
    later.client.connect();
    await waitFor('bob got all three', () => bob.of('message').length === 3);
    assert.deepEqual(bob.of('message').map(m => m.id).sort(), [e1.id, e2.id, e3.id].sort());
    assert.deepEqual(bob.messages(room).map(m => m.text), ['typed offline 1', 'typed offline 2']);
    await waitFor('outbox empty', () => later.client.outbox().length === 0);
    assert.deepEqual(JSON.parse(storage.getItem(`chat:v1:${user}:outbox`)), []);
  });

  test('re-sends an unacknowledged message with the same id, and the service stores it once', async () => {
    const room = unique('r-');
    const user = unique('alice');
    const storage = new MemoryStorage();
    const typed = make({ url: a.wsUrl, user, storage });
    const entry = typed.client.send(room, 'exactly once');
    const beforeAck = copyStorage(storage);  // as if the page died after sending, before the ack

    const bob = make({ url: b.wsUrl, user: unique('bob') });
    bob.client.join(room).connect();
    await bob.waitJoined(room);
    const first = make({ url: a.wsUrl, user, storage });
    first.client.connect();
    const ack1 = await first.waitEvent('ack', x => x.id === entry.id);
    first.client.close();

    const again = make({ url: b.wsUrl, user, storage: beforeAck });
    assert.equal(again.client.outbox()[0].id, entry.id);
    again.client.connect();
    // The replay after the join may show the message before the ack of the re-send comes (and
    // settle the outbox entry first); either way the re-send went out and got the first ack.
    const ack2 = await waitFor('the ack of the re-send', () => again.wire.received.find(f => f.type === 'ack' && f.id === entry.id));
    assert.equal(ack2.seq, ack1.seq, 'the same ack: stored once');
    assert.ok(again.wire.sent.some(f => f.type === 'send' && f.id === entry.id));
    await waitFor('outbox empty', () => again.client.outbox().length === 0);
    // The second send is known to be a duplicate once its ack came; bob must still have one copy.
    await waitFor('bob acked past it', () => bob.wire.sent.some(f => f.type === 'ack' && f.room === room && f.seq >= ack1.seq));
    assert.equal(bob.messages(room).filter(m => m.id === entry.id).length, 1);
    assert.equal(bob.messages(room).length, 1);
  });

  test('resumes a room with since after a restart and receives exactly what it missed', async () => {
    const room = unique('r-');
    const user = unique('bob');
    const storage = new MemoryStorage();
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    const bob = make({ url: b.wsUrl, user, storage });
    for (const c of [alice, bob]) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
    for (const t of ['one', 'two', 'three']) {
      alice.client.send(room, t);
    }
    await waitFor('bob got three', () => bob.messages(room).length === 3);
    const seen = bob.messages(room).at(-1).seq;
    bob.client.close();
    for (const t of ['four', 'five', 'six']) {
      alice.client.send(room, t);
    }
    await waitFor('alice sent all', () => alice.client.outbox().length === 0);

    const back = make({ url: a.wsUrl, user, storage });
    back.client.connect();
    const joined = await back.waitEvent('joined', j => j.room === room);
    assert.equal(joined.recovered, true);
    const join = back.wire.sent.find(f => f.type === 'join' && f.room === room);
    assert.equal(join.since, seen);
    assert.equal(join.epoch, joined.epoch);
    await waitFor('bob got the three he missed', () => back.messages(room).length >= 3);
    assert.deepEqual(back.messages(room).map(m => m.text), ['four', 'five', 'six']);
    assert.deepEqual(back.client.messages(room).map(m => m.text), ['one', 'two', 'three', 'four', 'five', 'six']);
    assert.equal(back.of('reset').length, 0, 'neither the room nor the inbox starts over');
  });

  test('tells the app to reset a room it cannot resume (unknown epoch)', async () => {
    const room = unique('r-');
    const user = unique('carol');
    const storage = new MemoryStorage();
    storage.setItem(`chat:v1:${user}:rooms`, JSON.stringify([room]));
    storage.setItem(`chat:v1:${user}:room:${room}`, JSON.stringify({
      epoch: 'e-gone', seq: 7, messages: [{ seq: 7, id: 'x', from: 'old', text: 'from a lost history', ts: 1 }],
    }));
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    alice.client.join(room).connect();
    await alice.waitJoined(room);
    alice.client.send(room, 'current history');
    await waitFor('alice sent', () => alice.client.outbox().length === 0);

    const carol = make({ url: b.wsUrl, user, storage });
    assert.equal(carol.client.messages(room).length, 1);
    carol.client.connect();
    const reset = await carol.waitEvent('reset', r => r.room === room);
    assert.equal(reset.hadState, true);
    const joined = await carol.waitEvent('joined', j => j.room === room);
    assert.equal(joined.recovered, false);
    await waitFor('carol got the current history', () => carol.messages(room).length === 1);
    assert.deepEqual(carol.client.messages(room).map(m => m.text), ['current history']);
  });

  test('stops reconnecting when the service closes for a policy violation (1008)', async () => {
    const alice = make({ url: a.wsUrl, user: unique('alice') });
    alice.client.connect();
    await alice.waitOnline();
    for (let i = 0; i < 25; i++) {
      alice.client.socket.send('not json');
    }
    const offline = await alice.waitEvent('status', s => s.status === 'offline');
    assert.equal(offline.closeCode, 1008);
    assert.ok(alice.of('error').some(e => e.code === 'closed' && e.closeCode === 1008));
    assert.equal(alice.client.status, 'offline');
    assert.equal(alice.of('status').filter(s => s.status === 'reconnecting').length, 0);
  });
});

describe('chat-client.js when a node goes away', () => {
  let redis;
  let survivor;
  const clients = [];
  const make = opts => {
    const c = testClient(opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
    survivor = await startNode({ name: unique('survivor-'), redisUrl: redis.url });
  });

  after(async () => {
    for (const c of clients) {
      c.client.close();
    }
    await survivor?.kill();
    await redis?.stop();
  });

  test('pings every heartbeat interval and reconnects when the service falls silent', async () => {
    const frozen = await startNode({ name: unique('frozen-'), redisUrl: redis.url });
    try {
      const room = unique('r-');
      const alice = make({ url: [frozen.wsUrl, survivor.wsUrl], user: unique('alice'), connectTimeoutMs: 2000 });
      alice.client.join(room).connect();
      await alice.waitJoined(room);
      const welcome = alice.of('welcome')[0];
      assert.equal(welcome.node, frozen.name);
      await waitFor('two pings', () => alice.wire.sent.filter(f => f.type === 'ping').length >= 2, 5000);
      const pings = alice.wire.sent.filter(f => f.type === 'ping').length;
      assert.ok(alice.wire.received.filter(f => f.type === 'pong').length >= pings - 1);

      frozen.pause();  // the process stops answering; its sockets stay open
      const from = alice.of('status').length;
      const lost = await alice.waitEvent('status', s => s.status === 'reconnecting', welcome.heartbeat.timeoutMs + 3000, from);
      assert.equal(lost.reason, 'service silent');
      await waitFor('online on the survivor', () => alice.client.status === 'online' && alice.client.node === survivor.name, 15_000);
      await alice.waitJoined(room);
    } finally {
      frozen.resume();
      await frozen.kill();
    }
  });

  test('reconnects at once, elsewhere, when its node shuts down (1012), and loses nothing', async () => {
    const leaving = await startNode({ name: unique('leaving-'), redisUrl: redis.url });
    const room = unique('r-');
    const alice = make({ url: survivor.wsUrl, user: unique('alice') });
    const bob = make({ url: [leaving.wsUrl, survivor.wsUrl], user: unique('bob') });
    for (const c of [alice, bob]) {
      c.client.join(room).connect();
      await c.waitJoined(room);
    }
    assert.equal(bob.client.node, leaving.name);
    alice.client.send(room, 'before');
    await waitFor('bob got before', () => bob.messages(room).length === 1);

    const stopping = leaving.terminate();
    const from = bob.of('status').length;
    const closed = await bob.waitEvent('status', s => s.status === 'reconnecting', 10_000, from);
    assert.equal(closed.closeCode, 1012);
    assert.equal(closed.delayMs, 0);
    alice.client.send(room, 'while away');
    await stopping;
    await waitFor('bob back on the survivor', () => bob.client.status === 'online' && bob.client.node === survivor.name, 10_000);
    alice.client.send(room, 'after');
    await waitFor('bob got all three', () => bob.messages(room).length >= 3);
    assert.deepEqual(bob.messages(room).map(m => m.text), ['before', 'while away', 'after']);
  });

  test('backs off longer when the node is full (1013)', async () => {
    const full = await startNode({ name: unique('full-'), env: { CHAT_MAX_CONNECTIONS: '1' } });
    try {
      const first = make({ url: full.wsUrl, user: unique('first') });
      first.client.connect();
      await first.waitOnline();
      const second = make({ url: full.wsUrl, user: unique('second'), overloadedMinMs: 3000 });
      second.client.connect();
      const waiting = await second.waitEvent('status', s => s.status === 'reconnecting');
      assert.equal(waiting.closeCode, 1013);
      assert.equal(waiting.policy, 'overloaded');
      assert.ok(waiting.delayMs >= 3000, `delay ${waiting.delayMs}`);
      second.client.close();
    } finally {
      await full.kill();
    }
  });
});
