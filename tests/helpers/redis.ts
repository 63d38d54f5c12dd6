// The Redis server the multi-process tests need (TEST_REDIS_URL, default the local one our machines and CI
// carry), and a channel prefix of this test run's own: several runs may share one Redis server, and the
// Socket.io adapter of one must never hear (or count as its peers) the processes of another.
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

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
