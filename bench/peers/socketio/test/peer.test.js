'use strict';
// The peer against real things: a redis-server child on a free port, two peer processes on it (once
// per adapter), socket.io-client sockets. Run from bench/peers/socketio: node --test
const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const http = require('node:http');
const path = require('node:path');
const { io: connect } = require('socket.io-client');

const SERVER = path.join(__dirname, '..', 'server.js');
const STARTUP_MS = 15000;

// A port below the kernel's ephemeral range that binds now: one from that range can be taken by an
// outgoing connection of any process before the server binds it.
function ephemeralLow() {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
}

function bindable(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

async function freePort() {
  const low = ephemeralLow();
  const hi = low > 12000 ? Math.min(low - 1, 32767) : 32767;
  for (let i = 0; i < 200; i++) {
    const port = 10000 + Math.floor(Math.random() * (hi - 10000));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in 10000-${hi}`);
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls until fn resolves without throwing, or fails after timeoutMs with the last error.
async function eventually(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await delay(100);
    }
  }
  throw new Error(`${what} not ready in ${timeoutMs} ms: ${last && last.message}`);
}

function startProcess(cmd, args, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (d) => { child.output += d; });
  child.stderr.on('data', (d) => { child.output += d; });
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  return child;
}

async function stopProcess(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const exited = await Promise.race([child.exited.then(() => true), delay(5000).then(() => false)]);
  if (!exited) {
    child.kill('SIGKILL');
    await child.exited;
  }
}

// Starts a server on a free port and waits until ready(port) passes; another process can take the
// port between choosing and binding it (other suites run on this machine), so a server that exits
// before it is ready is started again on another port, up to three times.
async function startOnFreePort(name, spawnAt, ready) {
  let last = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child = spawnAt(port);
    const died = child.exited.then(() => { throw new Error(`${name} exited: ${child.output}`); });
    try {
      await Promise.race([eventually(() => ready(port), STARTUP_MS, name), died]);
      died.catch(() => {});
      return { child, port };
    } catch (err) {
      died.catch(() => {});
      last = err.message;
      await stopProcess(child);
    }
  }
  throw new Error(`${name} did not start: ${last}`);
}

function redisPing(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setTimeout(1000, () => sock.destroy(new Error('timeout')));
    sock.on('error', reject);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      sock.end();
      if (d.toString().startsWith('+PONG')) resolve();
      else reject(new Error(`redis answered ${d}`));
    });
  });
}

async function getStats(port) {
  const res = await fetch(`http://127.0.0.1:${port}/stats`);
  assert.equal(res.status, 200);
  return res.json();
}

function client(port, user) {
  const socket = connect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    query: { user },
    reconnection: false,
    forceNew: true,
    timeout: 5000,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function emitAck(socket, event, payload) {
  return socket.timeout(5000).emitWithAck(event, payload);
}

function nextMessage(socket, predicate) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error('no message within 5 s'));
    }, 5000);
    function onMessage(m) {
      if (!predicate(m)) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(m);
    }
    socket.on('message', onMessage);
  });
}

let redis;
let redisPort;

before(async () => {
  ({ child: redis, port: redisPort } = await startOnFreePort('redis-server',
    (port) => startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']),
    redisPing));
});

after(async () => {
  await stopProcess(redis);
});

for (const adapter of ['classic', 'sharded']) {
  describe(`two peers, ${adapter} adapter`, () => {
    const peers = [];
    const ports = [];
    const sockets = [];

    before(async () => {
      for (let i = 0; i < 2; i++) {
        const { child, port } = await startOnFreePort(`peer ${i}`,
          (p) => startProcess(process.execPath, ['--expose-gc', SERVER], {
            PORT: String(p), REDIS_URL: `redis://127.0.0.1:${redisPort}`, ADAPTER: adapter,
          }),
          getStats);
        peers.push(child);
        ports.push(port);
      }
    });

    after(async () => {
      for (const s of sockets) s.disconnect();
      await Promise.all(peers.map(stopProcess));
    });

    test('a message sent on process A reaches members on A and B, with acks', async () => {
      const alice = await client(ports[0], 'alice');
      const bob = await client(ports[1], 'bob');
      sockets.push(alice, bob);
      const room = `r-${adapter}`;

      const joinA = await emitAck(alice, 'join', { room });
      assert.deepEqual(joinA, { ok: true, online: 1 });
      const joinB = await emitAck(bob, 'join', { room });
      assert.deepEqual(joinB, { ok: true, online: 1 }, 'online counts the local room only');

      // The sharded adapter subscribes to a room's channel when the room is created on a process,
      // without waiting for Redis; send until bob sees one, then check one exactly.
      await eventually(async () => {
        const seen = nextMessage(bob, (m) => m.id === 'warm');
        await emitAck(alice, 'send', { room, id: 'warm', text: 'warm-up' });
        await seen;
      }, 5000, 'cross-process delivery');

      const atBob = nextMessage(bob, (m) => m.id === 'm1');
      const atAlice = nextMessage(alice, (m) => m.id === 'm1');
      const ack = await emitAck(alice, 'send', { room, id: 'm1', text: 'hello' });
      assert.equal(ack.ok, true);
      assert.equal(typeof ack.ts, 'number');
      const [mb, ma] = await Promise.all([atBob, atAlice]);
      assert.deepEqual(mb, { room, id: 'm1', from: 'alice', text: 'hello', ts: ack.ts });
      assert.deepEqual(ma, mb);

      // and back from B to A
      const back = nextMessage(alice, (m) => m.id === 'm2');
      assert.equal((await emitAck(bob, 'send', { room, id: 'm2', text: 'hi' })).ok, true);
      assert.equal((await back).from, 'bob');
    });

    test('bad input is answered with ok:false; leave stops delivery', async () => {
      const carol = await client(ports[0], 'carol');
      const dave = await client(ports[1], 'dave');
      sockets.push(carol, dave);
      const room = `bad-${adapter}`;

      assert.deepEqual(await emitAck(carol, 'join', {}), { ok: false, error: 'bad_request' });
      assert.deepEqual(await emitAck(carol, 'send', { room, id: 'x', text: 42 }), { ok: false, error: 'bad_request' });
      assert.deepEqual(await emitAck(carol, 'send', { room: 7, id: 'x', text: 't' }), { ok: false, error: 'bad_request' });

      await emitAck(carol, 'join', { room });
      await emitAck(dave, 'join', { room });
      await eventually(async () => {
        const seen = nextMessage(dave, (m) => m.id === 'w');
        await emitAck(carol, 'send', { room, id: 'w', text: 'w' });
        await seen;
      }, 5000, 'cross-process delivery');

      assert.deepEqual(await emitAck(dave, 'leave', { room }), { ok: true });
      const received = [];
      dave.on('message', (m) => received.push(m.id));
      const atCarol = nextMessage(carol, (m) => m.id === 'after-leave');
      await emitAck(carol, 'send', { room, id: 'after-leave', text: 't' });
      await atCarol;
      // A marker sent afterwards in a room dave is still in proves his stream has moved past the
      // message: Redis keeps per-connection order, so 'after-leave' would have come first.
      const marker = `mark-${adapter}`;
      await emitAck(dave, 'join', { room: marker });
      await emitAck(carol, 'join', { room: marker });
      await eventually(async () => {
        const seen = nextMessage(dave, (m) => m.room === marker);
        await emitAck(carol, 'send', { room: marker, id: 'mark', text: 't' });
        await seen;
      }, 5000, 'marker delivery');
      assert.ok(!received.includes('after-leave'), `dave got ${received}`);
    });

    test('delivery acks are read for joined rooms only, and answer nothing', async () => {
      const fay = await client(ports[0], 'fay');
      sockets.push(fay);
      const room = `acks-${adapter}`;
      await emitAck(fay, 'join', { room });
      const before = (await getStats(ports[0])).acks;
      fay.emit('ack', { room: 'not-joined', id: 'x' });
      fay.emit('ack', { room });                     // no id
      fay.emit('ack', { room, id: 'fay-0' });
      fay.emit('ack', { room, id: 'fay-1' });
      // An emitAck after them on the same socket is handled after them.
      assert.deepEqual(await emitAck(fay, 'join', { room }), { ok: true, online: 1 });
      assert.equal((await getStats(ports[0])).acks, before + 2);
    });

    test('/stats answers heap, rss and the socket count', async () => {
      const s = await getStats(ports[0]);
      assert.deepEqual(Object.keys(s).sort(), ['acks', 'heapUsed', 'rss', 'sockets']);
      assert.ok(s.heapUsed > 0 && s.rss >= s.heapUsed, JSON.stringify(s));
      const before = s.sockets;
      const extra = await client(ports[0], 'erin');
      sockets.push(extra);
      assert.equal((await getStats(ports[0])).sockets, before + 1);
      const res = await fetch(`http://127.0.0.1:${ports[0]}/nope`);
      assert.equal(res.status, 404);
      // as Java's HttpClient asks by default: an h2c upgrade offer on a plain GET
      const viaUpgrade = await new Promise((resolve, reject) => {
        const req = http.get({
          host: '127.0.0.1', port: ports[0], path: '/stats',
          headers: { Connection: 'Upgrade, HTTP2-Settings', Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAAP__' },
        }, (r) => {
          let body = '';
          r.on('data', (d) => { body += d; });
          r.on('end', () => resolve({ status: r.statusCode, body }));
        });
        req.on('upgrade', () => reject(new Error('unexpected 101')));
        req.on('error', reject);
      });
      assert.equal(viaUpgrade.status, 200);
      assert.deepEqual(Object.keys(JSON.parse(viaUpgrade.body)).sort(), ['acks', 'heapUsed', 'rss', 'sockets']);
    });
  });
}
