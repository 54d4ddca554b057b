'use strict';
// The benchmark peer: a Socket.IO 4 room chat with acks, scaled out through Redis with
// @socket.io/redis-adapter (ADAPTER=classic: PUBLISH/PSUBSCRIBE; ADAPTER=sharded: SPUBLISH/SSUBSCRIBE,
// Redis 7+). The event contract is the one chat-bench's socketio protocol speaks; see README.md.
// Run: PORT=3000 REDIS_URL=redis://127.0.0.1:6379 ADAPTER=classic node --expose-gc server.js

const http = require('node:http');
const { Server } = require('socket.io');
const { createClient } = require('redis');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');

const PORT = Number(process.env.PORT || 3000);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const ADAPTER = process.env.ADAPTER || 'classic';
const MAX_ROOM_LENGTH = 128;
const MAX_TEXT_LENGTH = 4096;

if (ADAPTER !== 'classic' && ADAPTER !== 'sharded') {
  console.error(`ADAPTER must be classic or sharded, not ${ADAPTER}`);
  process.exit(2);
}
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) {
  console.error(`PORT must be a port number, not ${process.env.PORT}`);
  process.exit(2);
}

let acksRead = 0;   // delivery acks kept (see the 'ack' handler), for /stats

function stats() {
  if (typeof global.gc === 'function') global.gc();
  const mem = process.memoryUsage();
  return { heapUsed: mem.heapUsed, rss: mem.rss, sockets: io.engine.clientsCount, acks: acksRead };
}

const httpServer = http.createServer((req, res) => {
  // Socket.IO answers /socket.io/ itself; everything else lands here.
  const path = (req.url || '/').split('?')[0];
  if (req.method === 'GET' && path === '/stats') {
    const body = JSON.stringify(stats());
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
// A client that offers an upgrade on a plain request (Java's HttpClient asks for h2c by default)
// reaches 'upgrade', not the handler above, and Engine.IO would drop the socket: answer /stats there
// too, in HTTP/1.1.
httpServer.on('upgrade', (req, socket) => {
  const path = (req.url || '/').split('?')[0];
  if (req.method !== 'GET' || path !== '/stats') return;   // /socket.io/ is Engine.IO's
  const body = JSON.stringify(stats());
  socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n'
    + `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
});
httpServer.maxConnections = Infinity;      // no cap on sockets (the default is none either; made explicit)
httpServer.headersTimeout = 60000;
httpServer.requestTimeout = 0;

const io = new Server(httpServer, {
  serveClient: false,
  transports: ['websocket'],               // no HTTP long-polling: the client opens the WebSocket directly
  perMessageDeflate: false,                // our service does not compress either
  httpCompression: false,
  pingInterval: 25000,                     // Engine.IO defaults, written out
  pingTimeout: 20000,
});

function bad(ack, error) {
  if (typeof ack === 'function') ack({ ok: false, error });
}

function validRoom(room) {
  return typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM_LENGTH;
}

io.on('connection', (socket) => {
  const user = socket.handshake.query.user;
  if (typeof user !== 'string' || user.length === 0) {
    socket.disconnect(true);
    return;
  }

  socket.on('join', (msg, ack) => {
    if (!msg || !validRoom(msg.room)) return bad(ack, 'bad_request');
    socket.join(msg.room);
    const members = io.sockets.adapter.rooms.get(msg.room);
    if (typeof ack === 'function') ack({ ok: true, online: members ? members.size : 0 });
  });

  socket.on('send', (msg, ack) => {
    if (!msg || !validRoom(msg.room)) return bad(ack, 'bad_request');
    if (typeof msg.text !== 'string' || msg.text.length > MAX_TEXT_LENGTH) return bad(ack, 'bad_request');
    const ts = Date.now();
    io.to(msg.room).emit('message', { room: msg.room, id: msg.id, from: user, text: msg.text, ts });
    if (typeof ack === 'function') ack({ ok: true, ts });
  });

  // Delivery acks, as chat-bench's clients emit them at chat-client.js's cadence: Socket.IO has
  // none of its own, so a chat app that wants read positions sends one like this. The peer reads it
  // and keeps the last id per joined room (what such an app would store), nothing more.
  socket.on('ack', (msg) => {
    if (!msg || !validRoom(msg.room) || typeof msg.id !== 'string' || !socket.rooms.has(msg.room)) return;
    (socket.data.acked ??= new Map()).set(msg.room, msg.id);
    acksRead++;
  });

  socket.on('leave', (msg, ack) => {
    if (!msg || !validRoom(msg.room)) return bad(ack, 'bad_request');
    socket.leave(msg.room);
    if (typeof ack === 'function') ack({ ok: true });
  });
});

async function main() {
  const pubClient = createClient({ url: REDIS_URL });
  const subClient = pubClient.duplicate();
  for (const [name, client] of [['pub', pubClient], ['sub', subClient]]) {
    client.on('error', (err) => console.error(`redis ${name} client: ${err.message}`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(ADAPTER === 'sharded'
    ? createShardedAdapter(pubClient, subClient)
    : createAdapter(pubClient, subClient));

  httpServer.listen({ port: PORT, host: '0.0.0.0', backlog: 65535 }, () => {
    console.log(`socket.io peer pid=${process.pid} port=${httpServer.address().port} adapter=${ADAPTER} redis=${REDIS_URL}`);
  });

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    io.close(() => {
      Promise.allSettled([pubClient.quit(), subClient.quit()]).then(() => process.exit(0));
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(`cannot start: ${err.stack || err}`);
  process.exit(1);
});
