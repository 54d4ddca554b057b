// Real processes for the tests: redis-server, chat nodes (java -jar), nginx. Every process started
// here is killed when the test process exits, whatever happened.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const ARTIFACTS = path.join(ROOT, 'web-tests', 'artifacts');
const LOGS = path.join(ARTIFACTS, 'logs');
const JAVA = process.env.CHAT_JAVA || 'java';
const JAR = process.env.CHAT_JAR || path.join(ROOT, 'chat-service', 'target', 'chat-service.jar');
const NGINX = process.env.CHAT_NGINX || (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* gone */ }
  }
});

/** A short random name, for rooms and users that no other test uses. */
export function unique(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 10)}`;
}

/** Thrown by a waitFor check when waiting longer cannot help (the process died). */
export class Fatal extends Error {}

/** Polls `check` (sync or async, truthy = done) until it holds or `timeoutMs` passes; returns its value. */
export async function waitFor(what, check, timeoutMs = 10_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) {
        return last;
      }
    } catch (e) {
      if (e instanceof Fatal) {
        throw e;
      }
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    }
    await new Promise(r => setTimeout(r, everyMs));
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function logFile(name) {
  fs.mkdirSync(LOGS, { recursive: true });
  return fs.openSync(path.join(LOGS, `${name}.log`), 'a');
}

function start(name, cmd, args, opts = {}) {
  const fd = logFile(name);
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], ...opts });
  fs.closeSync(fd);
  running.add(child);
  child.exited = new Promise(resolve => child.once('exit', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));
  child.once('error', e => { child.spawnError = e; });
  return child;
}

async function stopChild(child, signal, timeoutMs = 10_000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.kill(signal);
  const timer = new Promise(r => setTimeout(r, timeoutMs, 'timeout'));
  if (await Promise.race([child.exited, timer]) === 'timeout') {
    child.kill('SIGKILL');
    await child.exited;
  }
}

async function httpStatus(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

function redisPing(port) {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(1000, () => { socket.destroy(); resolve(false); });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', d => {
      data += d;
      if (data.includes('\r\n')) {
        socket.end();
        resolve(data.startsWith('+PONG'));
      }
    });
  });
}

/** Sends one inline command to the Redis on `port` and resolves with its first reply line. */
function redisCommand(port, command) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(10_000, () => { socket.destroy(); reject(new Error(`redis ${command}: timeout`)); });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', d => {
      data += d;
      if (data.includes('\r\n')) {
        socket.end();
        resolve(data.slice(0, data.indexOf('\r\n')));
      }
    });
  });
}

/**
 * A redis-server child on a free port, without persistence; with `snapshots`, it keeps an RDB file
 * in its own directory that only `save()` writes, and `kill()` (SIGKILL) then `restart()` (same
 * port and directory) brings it back from that older snapshot.
 */
export async function startRedis({ snapshots = false } = {}) {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (snapshots) {
    args.push('--dir', fs.mkdtempSync(path.join(os.tmpdir(), 'chat-redis-')), '--dbfilename', 'dump.rdb');
  }
  let child;
  const launch = async () => {
    child = start(`redis-${port}`, 'redis-server', args);
    await waitFor(`redis-server on ${port}`, () => {
      if (child.spawnError || child.exitCode !== null) {
        throw new Fatal(`redis-server did not start (${child.spawnError?.message ?? child.exitCode})`);
      }
      return redisPing(port);
    }, 10_000);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => stopChild(child, 'SIGTERM'),
    save: async () => assert.equal(await redisCommand(port, 'SAVE'), '+OK'),
    kill: () => stopChild(child, 'SIGKILL'),
    restart: launch,
  };
}

/** Short timers so reconnects and presence expiry happen within seconds. */
export const FAST_TIMERS = Object.freeze({
  CHAT_HEARTBEAT_INTERVAL_MS: '1000',
  CHAT_HEARTBEAT_TIMEOUT_MS: '3000',
  CHAT_NODE_LEASE_MS: '3000',
  CHAT_INSTANCES: '1',
  CHAT_DRAIN_MS: '2000',
  CHAT_BROKER_TIMEOUT_MS: '2000',
});

/**
 * A chat node: the service's fat jar in its own JVM on a free port, ready when this resolves.
 * `env` adds CHAT_* settings; `port` reuses a port (to restart a node where nginx expects it).
 */
export async function startNode({ name = unique('node-'), redisUrl, env = {}, port } = {}) {
  // A port found free can be taken by another process before the node binds it: pick another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNodeOnce({ name, redisUrl, env, port: port ?? await freePort() });
    } catch (e) {
      if (port !== undefined || attempt === 3 || !/BindException/.test(logOf(name))) {
        throw e;
      }
    }
  }
}

function logOf(name) {
  try {
    return fs.readFileSync(path.join(LOGS, `${name}.log`), 'utf8');
  } catch {
    return '';
  }
}

async function startNodeOnce({ name, redisUrl, env, port }) {
  const vars = { ...process.env, ...FAST_TIMERS, CHAT_PORT: String(port), CHAT_NODE_ID: name, ...env };
  if (redisUrl) {
    vars.CHAT_REDIS_URL = redisUrl;
  }
  const child = start(name, JAVA, ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', JAR], { env: vars });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`node ${name} ready on ${port}`, async () => {
    if (child.spawnError || child.exitCode !== null) {
      throw new Fatal(`node ${name} exited (${child.spawnError?.message ?? child.exitCode}); see web-tests/artifacts/logs/${name}.log`);
    }
    return (await httpStatus(`${url}/health/ready`)) === 200;
  }, 60_000, 100);
  return {
    name,
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    pid: child.pid,
    /** SIGKILL: the node dies without a goodbye. */
    kill: () => stopChild(child, 'SIGKILL'),
    /** SIGTERM: the node drains (closing sockets with 1012) and exits. */
    terminate: () => stopChild(child, 'SIGTERM', 15_000),
    pause: () => process.kill(child.pid, 'SIGSTOP'),
    resume: () => process.kill(child.pid, 'SIGCONT'),
  };
}

/**
 * nginx in front of `nodes` (round-robin), as the current user with its own prefix, pid and temp
 * directories. The server block's content is deploy/nginx/chat.conf, the file docker-compose uses.
 */
export async function startNginx(nodePorts, { port } = {}) {
  port ??= await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-nginx-'));
  fs.chmodSync(dir, 0o755);  // worker processes may run as another user when we are root
  const conf = path.join(dir, 'nginx.conf');
  const servers = nodePorts.map(p => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join('\n');
  fs.writeFileSync(conf, `# generated by web-tests/lib/cluster.js
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream chat_nodes {
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    include ${path.join(ROOT, 'deploy', 'nginx', 'chat.conf')};
  }
}
`);
  let child;
  const url = `http://127.0.0.1:${port}`;
  const launch = async () => {
    child = start(`nginx-${port}`, NGINX, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`, '-g', 'daemon off;']);
    await waitFor(`nginx on ${port}`, async () => {
      if (child.spawnError || child.exitCode !== null) {
        const log = fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, 'utf8') : '';
        throw new Fatal(`nginx exited (${child.spawnError?.message ?? child.exitCode}): ${log}`);
      }
      return (await httpStatus(`${url}/health/live`)) === 200;
    }, 15_000);
  };
  await launch();
  return {
    port,
    url,
    /** Fast shutdown: every proxied connection is cut. */
    stop: () => stopChild(child, 'SIGTERM'),
    start: launch,
    cleanup: async () => {
      await stopChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
