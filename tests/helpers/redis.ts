// The Redis server the multi-process tests need (TEST_REDIS_URL, default the local one our machines and CI
// carry), and a channel prefix of this test run's own: several runs may share one Redis server, and the
// Socket.io adapter of one must never hear (or count as its peers) the processes of another. And a redis-server
// of a test's own, to kill.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { freePort } from './coturn.ts';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Unique to this test process: every server it starts shares it, no other run uses it. */
export const REDIS_PREFIX = `lectern-test-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Resolves when Redis answers PING; otherwise fails at once with what to do (no test is skipped). */
export async function requireRedis(): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(`Redis is required at ${REDIS_URL} (TEST_REDIS_URL) but does not answer: ${(err as Error).message}`, { cause: err });
  } finally {
    if (client.isOpen) await client.quit();
  }
}

/** The Pub/Sub channels with at least one subscriber whose names match `pattern`. */
export async function redisChannels(pattern: string): Promise<string[]> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    return await client.pubSubChannels(pattern);
  } finally {
    await client.quit();
  }
}

export interface ScratchRedis {
  url: string;
  port: number;
  /** Stops (SIGSTOP) or continues (SIGCONT) the server: connections stay open, nothing answers meanwhile. */
  freeze(frozen: boolean): void;
  /** Kills the server (SIGKILL: an outage, not a shutdown) and resolves when it is gone. */
  kill(): Promise<void>;
}

/** A redis-server of the caller's own (no persistence), on `port` or a free one: a Redis to kill and start again. */
export async function startScratchRedis(port?: number): Promise<ScratchRedis> {
  const listenOn = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(listenOn), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      output.push(d.toString());
      if (output.join('').includes('Ready to accept connections')) resolve();
    });
    void exited.then(() => reject(new Error(`redis-server exited on port ${listenOn}: ${output.join('')}`)));
  });
  return {
    url: `redis://127.0.0.1:${listenOn}`,
    port: listenOn,
    freeze(frozen) {
      child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
