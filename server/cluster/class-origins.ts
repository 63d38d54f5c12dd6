// Which node originates each live class's media, kept in Redis: `<prefix>:origin:<classId>` holds the node's
// name, with a short expiry the node renews while it holds the class's origin room. A node that dies stops
// renewing, so its classes are free again within ORIGIN_TTL_MS and the nodes fed from it notice (`holder()`
// no longer names it). A claim is taken only when the class has no origin, except when the teacher publishes
// on this node (`force`): the class's media then originates here and the old origin drops its room.
// A claim Redis lost (it restarted empty) is written again by its holder at once when Redis is back, and at every
// renewal; meanwhile the edges keep their rooms (`settling`) rather than take the class for gone, and a claim
// without `force` waits for the holder to write its claim again rather than take the class from it.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { ClusterRedis, RedisClient } from './cluster-redis.ts';

/** How long a claim lives without renewal: how soon a dead origin's classes are free again. */
export const ORIGIN_TTL_MS = 6000;
const RENEW_MS = 2000;
/** How often a claim without `force` looks for the holder again while Redis settles. */
const SETTLE_POLL_MS = 250;

/**
 * Renews the claim while it is still this node's (a teacher may have moved the class elsewhere: 0), or writes it
 * again when nobody holds it (Redis lost it, or it expired while this node was stalled: 2).
 */
const RENEW_IF_MINE = `
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2
`;
/** Deletes the claim only while it is still the given node's. */
const DELETE_IF_MINE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type ClassOriginsEvents = {
  /** Another node took the class's origin over (or the claim expired): this node's origin room must go. */
  lost: [classId: string];
};

export class ClassOrigins extends EventEmitter<ClassOriginsEvents> {
  readonly nodeName: string;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #held = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  readonly #connection: ClusterRedis;
  /** Until then (after Redis came back), a class without a holder may only wait for its holder to write it again. */
  #settleUntil = 0;
  readonly #onUp = (): void => {
    this.#settleUntil = Date.now() + ORIGIN_TTL_MS;
    void this.#renew();
  };
  #closed = false;

  /** `redis`: this node's connection (its owner closes it after this). */
  constructor(options: { redis: ClusterRedis; prefix: string; nodeName: string; log: Logger }) {
    super();
    this.#connection = options.redis;
    this.#redis = options.redis.client;
    this.#prefix = options.prefix;
    this.nodeName = options.nodeName;
    this.#log = options.log;
    this.#timer = setInterval(() => void this.#renew(), RENEW_MS);
    this.#timer.unref();
    options.redis.on('up', this.#onUp);
  }

  /**
   * Whether Redis came back lately (it may have lost every claim): a class without a holder may be one whose origin
   * has not written its claim again yet, not one whose origin is gone.
   */
  get settling(): boolean {
    return !this.#redis.isReady || Date.now() < this.#settleUntil;
  }

  #key(classId: string): string {
    return `${this.#prefix}:origin:${classId}`;
  }

  /** The node that originates the class's media now, if any; DomainError 'unavailable' when Redis does not answer. */
  async holder(classId: string): Promise<string | undefined> {
    return (await this.#connection.answer((redis) => redis.get(this.#key(classId)))) ?? undefined;
  }

  /**
   * Claims the class's origin for this node: when nobody holds it, or always with `force` (the teacher publishes
   * here). Answers the node that holds it afterwards (this one, or the one that got there first). DomainError
   * 'unavailable' when Redis does not answer.
   */
  async claim(classId: string, force: boolean): Promise<string> {
    // Redis came back lately (maybe empty): the class's origin may not have written its claim again yet.
    while (!force && Date.now() < this.#settleUntil && !this.#closed) {
      const holder = await this.holder(classId);
      if (holder !== undefined) return this.#found(classId, holder);
      await sleep(SETTLE_POLL_MS);
    }
    const key = this.#key(classId);
    const expiration = { type: 'PX' as const, value: ORIGIN_TTL_MS };
    const set = await this.#connection.answer((redis) =>
      redis.set(key, this.nodeName, force ? { expiration } : { expiration, condition: 'NX' }),
    );
    if (set === 'OK') {
      this.#held.add(classId);
      return this.nodeName;
    }
    const holder = await this.holder(classId);
    return holder === undefined ? await this.claim(classId, force) : this.#found(classId, holder);
  }

  #found(classId: string, holder: string): string {
    if (holder === this.nodeName) this.#held.add(classId);
    return holder;
  }

  /** This node's origin room for the class closed: the claim goes (if still ours), so another node may take it. */
  async release(classId: string): Promise<void> {
    this.#held.delete(classId);
    if (this.#closed) return;
    await this.#redis.eval(DELETE_IF_MINE, { keys: [this.#key(classId)], arguments: [this.nodeName] });
  }

  /** `node` is gone (it answers nobody): its claim on the class goes at once instead of when it expires. */
  async forget(classId: string, node: string): Promise<void> {
    await this.#redis.eval(DELETE_IF_MINE, { keys: [this.#key(classId)], arguments: [node] });
  }

  /** Every claim held renewed (skipped while Redis is away: it would wait in the queue, and `up` renews). */
  async #renew(): Promise<void> {
    if (!this.#redis.isReady) return;
    for (const classId of [...this.#held]) {
      try {
        const renewed = await this.#redis.eval(RENEW_IF_MINE, {
          keys: [this.#key(classId)],
          arguments: [this.nodeName, String(ORIGIN_TTL_MS)],
        });
        if (renewed === 2) this.#log.info({ classId }, 'the class origin claim was gone: written again');
        if (renewed === 0 && this.#held.delete(classId)) this.emit('lost', classId);
      } catch (err) {
        this.#log.warn({ err, classId }, 'could not renew the class origin claim');
      }
    }
  }

  /** Shutdown: the claims go at once, so the other nodes need not wait for them to expire. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#connection.off('up', this.#onUp);
    // While Redis is away the releases would only wait in the queue: the claims expire on their own.
    if (this.#redis.isReady) for (const classId of [...this.#held]) await this.release(classId).catch(() => {});
    this.#held.clear();
    this.#closed = true;
  }
}
