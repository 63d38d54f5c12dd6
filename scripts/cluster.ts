// npm run cluster -- [N] [--port 3000] [--node-port 3101] [--rtc-port 40000 (0: free ports)] [--data .data/cluster]
// N Lectern nodes on this machine behind nginx on http://localhost:3000: distinct HTTP ports, WebRTC ports and
// pipe/RTP port ranges per node, one PostgreSQL (DATABASE_URL, else the local server when it answers: database
// "lectern", created if missing), one Redis (REDIS_URL, else the local one), one LECTERN_MEDIA_SECRET for all,
// one object store for replays and lesson videos (LECTERN_S3_*, else a local s3rver under the data directory).
// Ctrl-C (or SIGTERM) stops every node and nginx. A node that dies is reported; the others carry on (try it:
// kill one and watch its students move).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { createClient } from 'redis';
import { nginxConfig } from './cluster/nginx-config.ts';
import { startLocalObjectStorage } from './cluster/object-storage.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432';

function fail(message: string): never {
  console.error(`lectern cluster: ${message}`);
  process.exit(1);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'node-port': { type: 'string' },
    'rtc-port': { type: 'string', default: '40000' },
    data: { type: 'string', default: path.join(process.env.LECTERN_DATA_DIR ?? '.data', 'cluster') },
  },
});
const count = Number(positionals[0] ?? 3);
if (!Number.isInteger(count) || count < 1 || count > 16) fail(`the number of nodes must be 1 to 16, not "${positionals[0]}"`);
const port = Number(values.port);
const firstNodePort = Number(values['node-port'] ?? port + 101);
const rtcPort = Number(values['rtc-port']);
const dataDir = path.resolve(values.data);

/** DATABASE_URL, or the local PostgreSQL's "lectern" database (created when missing). */
async function databaseUrl(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const admin = postgres(`${LOCAL_POSTGRES}/postgres`, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    const [found] = await admin`select 1 from pg_database where datname = 'lectern'`;
    if (!found) await admin.unsafe('create database lectern');
  } catch (err) {
    fail(
      `the nodes need one PostgreSQL (the embedded database serves a single process): none answers at ${LOCAL_POSTGRES} ` +
        `(${(err as Error).message}); set DATABASE_URL`,
    );
  } finally {
    await admin.end({ timeout: 1 });
  }
  return `${LOCAL_POSTGRES}/lectern`;
}

async function redisUrl(): Promise<string> {
  const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
  const client = createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    fail(`the nodes share Redis: none answers at ${url} (${(err as Error).message}); set REDIS_URL`);
  } finally {
    await client.quit().catch(() => {});
  }
  return url;
}

const children: { name: string; child: ChildProcess }[] = [];
let stopping = false;

function prefixed(name: string, child: ChildProcess): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) readline.createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[${name}] ${line}\n`));
  }
}

function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  prefixed(name, child);
  children.push({ name, child });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`lectern cluster: ${name} exited (${signal ?? `code ${code}`}); the others carry on`);
    if (children.every(({ child: c }) => c.exitCode !== null || c.signalCode !== null)) process.exit(1);
  });
  return child;
}

async function answers(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) fail(`${url} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error('lectern cluster: stopping every node and nginx');
  const exits = children.map(
    ({ child }) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  const timer = setTimeout(() => {
    for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, 15_000);
  await Promise.all(exits);
  clearTimeout(timer);
  process.exit(0);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

const [database, redis] = await Promise.all([databaseUrl(), redisUrl()]);
// Replays and lesson videos where every node serves them: the configured bucket, else a local S3 server.
const objectStorage = process.env.LECTERN_S3_BUCKET ? undefined : await startLocalObjectStorage(path.join(dataDir, 's3'));
const shared = {
  DATABASE_URL: database,
  REDIS_URL: redis,
  ...objectStorage?.env,
  // Media URLs signed by one node are checked by another.
  LECTERN_MEDIA_SECRET: process.env.LECTERN_MEDIA_SECRET ?? randomBytes(24).toString('base64url'),
  LECTERN_TRUST_PROXY: 'true',
  LECTERN_WORKERS: process.env.LECTERN_WORKERS ?? '1',
};
const nodes = Array.from({ length: count }, (_, i) => ({ name: `node-${i + 1}`, port: firstNodePort + i, index: i }));
const startNode = async (node: (typeof nodes)[number]): Promise<void> => {
  startChild(node.name, process.execPath, ['server/main.ts'], {
    ...process.env,
    ...shared,
    HOST: '127.0.0.1', // only nginx faces the network (WebRTC listens on LECTERN_LISTEN_IP as usual)
    PORT: String(node.port),
    LECTERN_NODE_NAME: node.name,
    LECTERN_NODE_URL: `http://127.0.0.1:${node.port}`, // where the other nodes relay live HLS and WHIP/WHEP session requests to this node
    LECTERN_DATA_DIR: path.join(dataDir, node.name),
    LECTERN_RTC_PORT: String(rtcPort && rtcPort + node.index * 10), // 0: every node picks free ports
    LECTERN_RTC_MIN_PORT: String(41000 + node.index * 1000),
    LECTERN_RTC_MAX_PORT: String(41000 + node.index * 1000 + 999),
  });
  await answers(`http://127.0.0.1:${node.port}/health/live`, 120_000);
};
// The first node migrates the database; the others start together once it listens.
await startNode(nodes[0]!);
await Promise.all(nodes.slice(1).map(startNode));

const nginxDir = path.join(dataDir, 'nginx');
fs.mkdirSync(nginxDir, { recursive: true });
const configFile = path.join(nginxDir, 'nginx.conf');
fs.writeFileSync(
  configFile,
  nginxConfig({ listen: `${port}`, nodePorts: nodes.map((n) => n.port), dir: nginxDir, asRoot: process.getuid?.() === 0 }),
);
startChild('nginx', process.env.NGINX ?? 'nginx', ['-p', nginxDir, '-e', path.join(nginxDir, 'error.log'), '-c', configFile], process.env);
await answers(`http://127.0.0.1:${port}/health/live`, 15_000);

const pids = Object.fromEntries(children.map(({ name, child }) => [name, child.pid]));
console.log(
  JSON.stringify({ url: `http://localhost:${port}`, nodes: nodes.map((n) => ({ name: n.name, port: n.port, pid: pids[n.name] })) }),
);
console.error(`\n  Lectern cluster of ${count} node${count === 1 ? '' : 's'} on http://localhost:${port}  (Ctrl-C stops it)\n`);
