// The token buckets in Redis, shared by every node of a cluster: a person with sockets on two nodes spends one
// bucket per class and kind, not one per node. One Lua script refills and spends atomically on Redis's clock (the
// nodes' clocks never have to agree) and lets each bucket expire when it would be full again, so an idle person's
// bucket costs nothing. When Redis does not answer, the takes fall back to this process's in-memory buckets (the
// limit then holds per node, as without Redis) instead of refusing or allowing everything; a warning says so once.
// The connection is the node's (cluster/cluster-redis.ts), whose commands wait while Redis is away: a take checks
// that it is ready first, so it never waits for a reconnection.
import { createHash } from 'node:crypto';
import { answerWithin, type ClusterRedis, type RedisClient } from '../cluster/cluster-redis.ts';
import type { Logger } from '../log.ts';
import { FloodControl, type BucketRule, type FloodLimiter, type TakeResult } from './flood-control.ts';

/** KEYS[1] the bucket; ARGV capacity, tokens per second, and (tests only) the time in ms instead of Redis's. */
const TAKE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local saved = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(saved[1]) or capacity
local at = tonumber(saved[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) / 1000 * rate)
if tokens < 1 then
  return {0, math.ceil((1 - tokens) / rate * 1000)}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000))
return {1, 0}
`;
const TAKE_SHA1 = createHash('sha1').update(TAKE).digest('hex');

/**
 * A take answers within a few ms (less than 4 ms at p99 on a loaded 2-core machine); past this it falls back, so a
 * Redis that stops answering without closing the connection (stalled, cut off) delays a message this long at most.
 * (node-redis's own command timeout only covers the wait before the command is written.)
 */
const TAKE_TIMEOUT_MS = 1000;

export interface RedisFloodOptions {
  /** This node's Redis connection (its owner closes it after this). */
  redis: ClusterRedis;
  /** LECTERN_REDIS_PREFIX: the buckets are `<prefix>:flood:<key>`. */
  prefix: string;
  log: Logger;
  /** Tests: a controlled clock instead of Redis's. */
  now?: () => number;
}

export class RedisFloodControl implements FloodLimiter {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #now: (() => number) | undefined;
  /** This process's buckets while Redis does not answer. */
  readonly #fallback = new FloodControl();
  #degraded = false;
  #closed = false;

  constructor(options: RedisFloodOptions) {
    this.#redis = options.redis.client;
    this.#prefix = options.prefix;
    this.#log = options.log;
    this.#now = options.now;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the takes use this process's buckets now, because Redis did not answer. */
  get degraded(): boolean {
    return this.#degraded;
  }

  async take(key: string, rule: BucketRule): Promise<TakeResult> {
    if (this.#closed) throw new Error('flood control is closed');
    try {
      // Away: the take would wait in the connection's queue until Redis is back.
      if (!this.#redis.isReady) throw new Error('Redis is not connected');
      const [allowed, retryAfterMs] = await this.#within(this.#run(`${this.#prefix}:flood:${key}`, rule));
      if (this.#degraded) {
        this.#degraded = false;
        this.#log.info('Redis answers again: flood limits are shared by the nodes again');
      }
      return { allowed: allowed === 1, retryAfterMs };
    } catch (err) {
      this.#degrade(err as Error);
      return this.#fallback.takeNow(key, rule);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fallback.close();
  }

  #within<T>(answer: Promise<T>): Promise<T> {
    return answerWithin(answer, TAKE_TIMEOUT_MS);
  }

  async #run(key: string, rule: BucketRule): Promise<[number, number]> {
    const args = { keys: [key], arguments: [String(rule.capacity), String(rule.refillPerSecond)] };
    if (this.#now) args.arguments.push(String(this.#now()));
    try {
      return (await this.#redis.evalSha(TAKE_SHA1, args)) as [number, number];
    } catch (err) {
      // Redis has not seen the script yet (or restarted): EVAL sends it and keeps it for the next EVALSHA.
      if (!(err instanceof Error && err.message.startsWith('NOSCRIPT'))) throw err;
      return (await this.#redis.eval(TAKE, args)) as [number, number];
    }
  }

  #degrade(err: Error): void {
    if (this.#degraded || this.#closed) return;
    this.#degraded = true;
    this.#log.warn({ err: err.message }, 'Redis does not answer: flood limits hold per node (in memory) until it is back');
  }
}
