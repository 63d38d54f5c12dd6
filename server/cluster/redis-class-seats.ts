// A class's WebRTC seats counted across the cluster (sfu/class-seats.ts says what they are). Each class has a
// hash `<prefix>:seats:<classId>` with a field per node (the students that node seats in the class), and each
// node a set `<prefix>:seats-held:<node>` of the classes where it holds some, so its fields can be found. Taking
// a seat is one Lua script (sum the fields, below the cap: add one), so two nodes never both take the last
// seat. A node that dies never gives its seats back: its fields go when the node registry reports it gone (every
// node does it; it is idempotent), and a node clears its own leftovers when it starts (restarted under the same
// name before anyone saw it gone) and when it closes.
import { createClient } from 'redis';
import type { Logger } from '../log.ts';
import type { ClassSeats } from '../sfu/class-seats.ts';

type RedisClient = ReturnType<typeof createClient>;

/** Below the cap (ARGV[2]) summed over every node: one more for this node (ARGV[1]), the class (ARGV[3]) noted as held. */
const TAKE = `
local sum = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do sum = sum + tonumber(v) end
if sum >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[2], ARGV[3])
return 1
`;

/** One less for this node; its field (and the class in its held set) goes at zero. */
const RELEASE = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
return n
`;

/** Every seat node ARGV[1] holds, in each class hash (ARGV[2] .. class id) its held set names; then the set. */
const DROP_NODE = `
local classes = redis.call('SMEMBERS', KEYS[1])
for _, c in ipairs(classes) do redis.call('HDEL', ARGV[2] .. c, ARGV[1]) end
redis.call('DEL', KEYS[1])
return #classes
`;

/** What tells this node that another one is gone (cluster/node-registry.ts). */
export interface NodeDepartures {
  on(event: 'gone', listener: (node: string) => void): unknown;
  off(event: 'gone', listener: (node: string) => void): unknown;
}

export interface RedisClassSeatsOptions {
  url: string;
  prefix: string;
  nodeName: string;
  cap: number;
  nodes: NodeDepartures;
  log: Logger;
}

export class RedisClassSeats implements ClassSeats {
  readonly cap: number;
  readonly #redis: RedisClient;
  readonly #o: RedisClassSeatsOptions;
  readonly #onGone = (node: string): void => void this.#drop(node);
  #closed = false;

  /** Connects, and clears what a previous process of this node's name left (it may have been killed). */
  static async start(options: RedisClassSeatsOptions): Promise<RedisClassSeats> {
    const redis = createClient({ url: options.url });
    redis.on('error', (err) => options.log.warn({ err }, 'redis client error (class seats)'));
    await redis.connect();
    const seats = new RedisClassSeats(redis, options);
    const left = await seats.#dropNode(options.nodeName);
    if (left > 0) options.log.info({ classes: left }, "class seats: this node's seats from a previous run cleared");
    return seats;
  }

  private constructor(redis: RedisClient, options: RedisClassSeatsOptions) {
    this.#redis = redis;
    this.#o = options;
    this.cap = options.cap;
    options.nodes.on('gone', this.#onGone);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #classKey(classId: string): string {
    return `${this.#o.prefix}:seats:${classId}`;
  }

  #heldKey(node: string): string {
    return `${this.#o.prefix}:seats-held:${node}`;
  }

  async take(classId: string): Promise<boolean> {
    if (this.#closed) return false;
    const { nodeName } = this.#o;
    const took = await this.#redis.eval(TAKE, {
      keys: [this.#classKey(classId), this.#heldKey(nodeName)],
      arguments: [nodeName, String(this.cap), classId],
    });
    return took === 1;
  }

  async release(classId: string): Promise<void> {
    if (this.#closed) return; // closing cleared every seat of this node
    const { nodeName } = this.#o;
    await this.#redis.eval(RELEASE, { keys: [this.#classKey(classId), this.#heldKey(nodeName)], arguments: [nodeName, classId] });
  }

  async taken(classId: string): Promise<number> {
    const counts = await this.#redis.hVals(this.#classKey(classId));
    return counts.reduce((sum, n) => sum + Number(n), 0);
  }

  #dropNode(node: string): Promise<number> {
    return this.#redis.eval(DROP_NODE, { keys: [this.#heldKey(node)], arguments: [node, `${this.#o.prefix}:seats:`] }) as Promise<number>;
  }

  async #drop(node: string): Promise<void> {
    if (this.#closed) return;
    try {
      const classes = await this.#dropNode(node);
      if (classes > 0) this.#o.log.info({ gone: node, classes }, 'class seats of a gone node freed');
    } catch (err) {
      this.#o.log.warn({ err, gone: node }, 'could not free the class seats of a gone node');
    }
  }

  /** Shutdown (after the rooms closed): this node's seats go at once, whatever release did not reach Redis. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.nodes.off('gone', this.#onGone);
    await this.#dropNode(this.#o.nodeName).catch((err: unknown) => this.#o.log.warn({ err }, "could not clear this node's class seats"));
    await this.#redis.quit().catch(() => undefined);
  }
}
