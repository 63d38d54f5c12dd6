// This node's one Redis command connection, shared by every part that keeps cluster state in Redis (node registry,
// class origins, presence, session records, class seats, flood limits); the Socket.io adapter's publish/subscribe
// pair stays apart, as a subscribed connection runs no other command. The client reconnects on its own; this owner
// says an outage once (`down`, one warning however many reconnections fail) and its end (`up`), which is when the
// parts write back what this node holds: Redis here keeps nothing on disk, so it may come back empty.
// Commands sent while Redis is away wait in the client's queue and go once it is back (in order, on this one
// connection); a part that must not wait (flood limits, seats) checks `isReady` first and falls back, and a lookup
// a request waits on goes through `answer()`, which fails fast instead.
import { EventEmitter } from 'node:events';
import { createClient } from 'redis';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';

export type RedisClient = ReturnType<typeof createClient>;

type ClusterRedisEvents = {
  /** The connection was lost (Redis stopped, restarted, or cut off): commands wait or fail until `up`. */
  down: [];
  /** Connected again after `down`: Redis may have lost everything (restarted), so each part writes back its own. */
  up: [];
};

/** How long a request waits on Redis in `answer()` before it is told to try again. */
const ANSWER_TIMEOUT_MS = 1000;

/** How long close() waits for QUIT's answer; a stalled Redis never sends it, and the connection is dropped instead. */
const QUIT_TIMEOUT_MS = 1000;

/**
 * `answer`, or a failure after `ms` (the late answer is then dropped): node-redis's own command timeout only covers
 * the wait before a command is written, not a Redis that stalls without closing the connection.
 */
export async function answerWithin<T>(answer: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
    answer.catch(() => {});
  }
}

/** A client closed: QUIT (what is queued goes first) while Redis answers, else (away, stalled) the connection dropped. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.isReady) await answerWithin(client.close(), QUIT_TIMEOUT_MS).catch(() => {});
  if (client.isOpen) client.destroy();
}

/** A client's lost connection logged once per outage (it reports every failed reconnection as an error). */
export function warnOncePerOutage(client: RedisClient, log: Logger, what: string): void {
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message }, `Redis does not answer (${what}): it reconnects`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info(`Redis answers again (${what})`);
    down = false;
  });
}

export class ClusterRedis extends EventEmitter<ClusterRedisEvents> {
  /** The connection; its owner is this object (the parts never close it). */
  readonly client: RedisClient;
  readonly #log: Logger;
  #down = false;
  #closed = false;

  /** Connects (retrying until Redis answers, as every node needs it). */
  static async connect(options: { url: string; log: Logger }): Promise<ClusterRedis> {
    const redis = new ClusterRedis(createClient({ url: options.url }), options.log);
    await redis.client.connect();
    return redis;
  }

  private constructor(client: RedisClient, log: Logger) {
    super();
    this.setMaxListeners(0);
    this.client = client;
    this.#log = log;
    // The client reports every failed reconnection as an error: one warning per outage is enough.
    client.on('error', (err: Error) => this.#lost(err));
    client.on('reconnecting', () => this.#lost(undefined));
    client.on('ready', () => {
      if (!this.#down || this.#closed) return;
      this.#down = false;
      this.#log.info('Redis answers again: this node writes back the cluster state it holds');
      this.emit('up');
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether commands go to Redis now (false while it is away: they would wait in the queue). */
  get isReady(): boolean {
    return this.client.isReady;
  }

  /**
   * `command`'s answer, or DomainError 'unavailable' at once while Redis is away (the command is not queued: a claim
   * sent when it is back would be a stale one) and after ANSWER_TIMEOUT_MS when it stalls.
   */
  async answer<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    const unavailable = () => new DomainError('unavailable', 'The cluster state (Redis) does not answer; try again shortly');
    if (!this.client.isReady) throw unavailable();
    return answerWithin(command(this.client), ANSWER_TIMEOUT_MS).catch((err: unknown) => {
      throw err instanceof DomainError ? err : unavailable();
    });
  }

  #lost(err: Error | undefined): void {
    if (this.#down || this.#closed) return;
    this.#down = true;
    this.#log.warn(
      { err: err?.message },
      'Redis does not answer: this node reconnects, and the cluster state it holds is written back then',
    );
    this.emit('down');
  }

  /** Last, once every part said goodbye: QUIT (what is queued goes first), or the connection dropped when Redis is away. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.removeAllListeners();
    await closeClient(this.client);
  }
}
