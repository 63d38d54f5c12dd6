// A real coturn (Debian's turnserver) for one test file: TURN REST API credentials (use-auth-secret), UDP and
// TCP on a free port, relaying to loopback (where the media server under test listens). Stopped by stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Coturn {
  port: number;
  secret: string;
  realm: string;
  /** Everything turnserver printed (its log). */
  readonly log: string[];
  stop(): Promise<void>;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function listening(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`coturn did not listen on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts turnserver listening on `listenIps` (loopback by default). */
export async function startCoturn(options: { listenIps?: string[] } = {}): Promise<Coturn> {
  const listenIps = options.listenIps ?? ['127.0.0.1'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-coturn-'));
  const port = await freePort();
  const secret = randomBytes(24).toString('hex');
  const realm = 'lectern.test';
  const relayBase = 50000 + Math.floor(Math.random() * 90) * 100;
  const conf = [
    `listening-port=${port}`,
    ...listenIps.map((ip) => `listening-ip=${ip}`),
    // Relays send from the TURN server's own (URL) address, as a production coturn does from its public one.
    `relay-ip=${listenIps.find((ip) => !ip.startsWith('127.')) ?? '127.0.0.1'}`,
    `min-port=${relayBase}`,
    `max-port=${relayBase + 99}`,
    'use-auth-secret',
    `static-auth-secret=${secret}`,
    `realm=${realm}`,
    'fingerprint',
    'no-tls',
    'no-dtls',
    'no-cli',
    'no-multicast-peers',
    // The media server under test listens on loopback; a production coturn keeps loopback peers denied.
    'allow-loopback-peers',
    'log-file=stdout',
    'simple-log',
    `pidfile=${path.join(dir, 'turnserver.pid')}`,
  ];
  fs.writeFileSync(path.join(dir, 'turnserver.conf'), conf.join('\n') + '\n');
  const child: ChildProcess = spawn('turnserver', ['-c', path.join(dir, 'turnserver.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  for (const stream of [child.stdout!, child.stderr!])
    stream.on('data', (d: Buffer) => log.push(...d.toString().split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      listening(listenIps[0]!, port, 15_000),
      exited.then(() => {
        throw new Error(`turnserver exited:\n${log.slice(-20).join('\n')}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    secret,
    realm,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
