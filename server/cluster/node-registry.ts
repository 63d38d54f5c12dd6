// The nodes of a cluster, as Redis sees them: each node beats (a sorted set scored by Redis's own clock, so the
// nodes' clocks need not agree) and says how the others reach it. A node that stops beating for three beats is
// dropped from the set by whichever node notices first, and every node reports it `gone` once, at its next beat.
// State kept per node elsewhere (presence, WebRTC seats) is cleaned up from that event, so a killed node's
// students and seats do not linger. A node that closes leaves at once, and the others report it gone too.
// A node restarted under the same name within three beats is never seen gone: state kept per node name must be
// cleared by the node itself when it starts. After an outage of Redis (which may come back empty, or with every
// beat older than three), nobody is taken for gone for three beats: the nodes that live beat again meanwhile.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { ClusterRedis, RedisClient } from './cluster-redis.ts';

type NodeRegistryEvents = {
  /** A node that was part of the cluster stopped beating (killed, cut off) or left (closed). */
  gone: [node: string];
  /** A node joined the cluster (seen for the first time, or back after being gone). */
  joined: [node: string];
};

export interface NodeRegistryOptions {
  /** This node's Redis connection (its owner closes it after this registry). */
  redis: ClusterRedis;
  /** The deployment's Redis key prefix. */
  prefix: string;
  nodeName: string;
  /** This node's URL as the other nodes reach it (known once it listens). */
  nodeUrl: () => string;
  log: Logger;
  /** How often this node beats; it is taken for dead after three missed beats. */
  beatMs?: number;
}

/**
 * One beat: this node's score and URL, the nodes silent for `ARGV[3]` ms dropped (their names returned first,
 * then a separator, then the live nodes), all on Redis's clock. ARGV[4] '0': nobody dropped (Redis just came back).
 */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local dead = {}
if ARGV[4] ~= '0' then dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3])) end
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  redis.call('HDEL', KEYS[2], node)
end
local out = dead
table.insert(out, '')
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do table.insert(out, node) end
return out
`;

export class NodeRegistry extends EventEmitter<NodeRegistryEvents> {
  readonly nodeName: string;
  readonly #redis: RedisClient;
  readonly #o: NodeRegistryOptions;
  /** The live nodes at the last beat (this one included). */
  #alive = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  /** Until then (after Redis came back), no node is taken for gone: the live ones have not all beaten again yet. */
  #settleUntil = 0;
  readonly #onUp = (): void => {
    this.#settleUntil = Date.now() + 3 * this.#beatMs;
    void this.beat();
  };
  #closed = false;

  /** Beats once, so `alive()` is right as soon as this resolves. */
  static async start(options: NodeRegistryOptions): Promise<NodeRegistry> {
    const registry = new NodeRegistry(options);
    await registry.#beat();
    registry.#timer = setInterval(() => void registry.beat(), registry.#beatMs);
    registry.#timer.unref();
    return registry;
  }

  private constructor(options: NodeRegistryOptions) {
    super();
    this.setMaxListeners(0);
    this.#redis = options.redis.client;
    this.#o = options;
    this.nodeName = options.nodeName;
    options.redis.on('up', this.#onUp);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get #beatMs(): number {
    return this.#o.beatMs ?? 2000;
  }

  get #keys(): [string, string] {
    return [`${this.#o.prefix}:nodes`, `${this.#o.prefix}:node-urls`];
  }

  /** Whether `node` was alive at the last beat. */
  isAlive(node: string): boolean {
    return this.#alive.has(node);
  }

  /** The nodes alive at the last beat, this one included. */
  alive(): string[] {
    return [...this.#alive];
  }

  /**
   * How the other nodes reach `node` (undefined when it is not part of the cluster, or does not listen yet);
   * DomainError 'unavailable' when Redis does not answer.
   */
  async urlOf(node: string): Promise<string | undefined> {
    return (await this.#o.redis.answer((redis) => redis.hGet(this.#keys[1], node))) || undefined;
  }

  /**
   * Beats now (also on its own every beat interval, skipped while Redis is away); a failed beat is logged and the
   * next one tries again.
   */
  beat(): Promise<void> {
    if (!this.#redis.isReady) return Promise.resolve();
    this.#beating ??= this.#beat()
      .catch((err: unknown) => this.#o.log.warn({ err }, 'node registry: beat failed'))
      .finally(() => (this.#beating = undefined));
    return this.#beating;
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const [nodes, urls] = this.#keys;
    const settling = Date.now() < this.#settleUntil;
    const reply = (await this.#redis.eval(BEAT, {
      keys: [nodes, urls],
      arguments: [this.nodeName, this.#o.nodeUrl(), String(3 * this.#beatMs), settling ? '0' : '1'],
    })) as string[];
    if (this.#closed) return;
    const live = new Set(reply.slice(reply.indexOf('') + 1));
    for (const node of reply.slice(0, reply.indexOf(''))) this.#o.log.warn({ gone: node }, 'a cluster node stopped beating: it is gone');
    const before = this.#alive;
    // A node missing from a Redis that just came back (empty, perhaps) may only not have beaten there yet.
    if (settling) for (const node of before) live.add(node);
    this.#alive = live;
    for (const node of before) if (!live.has(node)) this.emit('gone', node);
    for (const node of live) if (!before.has(node) && node !== this.nodeName) this.emit('joined', node);
  }

  /** Leaves the cluster at once (the other nodes report this one gone at their next beat). */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#timer);
    this.#o.redis.off('up', this.#onUp);
    await this.#beating;
    this.#closed = true;
    const [nodes, urls] = this.#keys;
    // While Redis is away the leave would only wait in the queue: the others see this node gone by its silence.
    if (this.#redis.isReady)
      await this.#redis
        .multi()
        .zRem(nodes, this.nodeName)
        .hDel(urls, this.nodeName)
        .exec()
        .catch((err: unknown) => this.#o.log.warn({ err }, 'node registry: could not leave the cluster'));
    this.removeAllListeners();
  }
}
