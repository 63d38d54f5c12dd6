// A class's WebRTC seats counted across the cluster (sfu/class-seats.ts says what they are). Each class has a
// hash `<prefix>:seats:<classId>` with a field per node (the students that node seats in the class), and each
// node a set `<prefix>:seats-held:<node>` of the classes where it holds some, so its fields can be found. Taking
// a seat is one Lua script (sum the fields, below the cap: add one), so two nodes never both take the last seat.
// A node that dies never gives its seats back: its fields go when the node registry reports it gone (every node
// does it; it is idempotent), and a node clears its own leftovers when it starts (restarted under the same name
// before anyone saw it gone) and when it closes. The seats a node holds are known here too (its truth): while
// Redis does not answer, the node seats up to the cap on its own (one warning); once Redis is back, and every few
// seconds anyway, it writes its fields again from what it holds, so a lost update, a restarted Redis or a node
// taken for gone while it was only slow does not leave the count wrong for long. The connection is the node's
// (cluster/cluster-redis.ts), whose commands wait while Redis is away: a take or a release checks that it is ready
// first, so it never waits for a reconnection.
import type { Logger } from '../log.ts';
import type { ClassSeat, ClassSeats } from '../sfu/class-seats.ts';
import type { ClusterRedis, RedisClient } from './cluster-redis.ts';

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

/**
 * Node ARGV[1]'s fields set to exactly the (class id, count) pairs from ARGV[3] on: every field its held set
 * (KEYS[1]) names goes first, in the class hashes named ARGV[2] .. class id. No pairs: the node's seats are gone.
 */
const SET_NODE = `
local classes = redis.call('SMEMBERS', KEYS[1])
for _, c in ipairs(classes) do redis.call('HDEL', ARGV[2] .. c, ARGV[1]) end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do
  redis.call('HSET', ARGV[2] .. ARGV[i], ARGV[1], ARGV[i + 1])
  redis.call('SADD', KEYS[1], ARGV[i])
end
return #classes
`;

/** What tells this node that another one is gone (cluster/node-registry.ts). */
export interface GoneNodeEvents {
  on(event: 'gone', listener: (node: string) => void): unknown;
  off(event: 'gone', listener: (node: string) => void): unknown;
}

export interface RedisClassSeatsOptions {
  /** This node's Redis connection (its owner closes it after this). */
  redis: ClusterRedis;
  prefix: string;
  nodeName: string;
  cap: number;
  nodes: GoneNodeEvents;
  log: Logger;
  /** How often this node writes its fields again from the seats it holds (5 s). */
  rewriteMs?: number;
}

/** A seat this node holds: counted in Redis, or only here (taken while Redis did not answer). */
interface HeldSeat {
  classId: string;
  inRedis: boolean;
}

export class RedisClassSeats implements ClassSeats {
  readonly cap: number;
  readonly #redis: RedisClient;
  readonly #o: RedisClassSeatsOptions;
  /** Every seat this node holds now. */
  readonly #held = new Set<HeldSeat>();
  readonly #onGone = (node: string): void => void this.#drop(node);
  /** Takes sent and not answered yet: what this node holds is not known exactly until they are. */
  #taking = 0;
  readonly #timer: NodeJS.Timeout;
  /** Redis did not answer (a take fell back, or an update was lost): its fields are written again when it is back. */
  #degraded = false;
  #closed = false;

  readonly #onUp = (): void => void this.#rewrite();
  readonly #onDown = (): void => this.#degrade(new Error('Redis connection lost'));

  /** Clears what a previous process of this node's name left (it may have been killed). */
  static async start(options: RedisClassSeatsOptions): Promise<RedisClassSeats> {
    const seats = new RedisClassSeats(options);
    const left = await seats.#setNode(options.nodeName, []);
    if (left > 0) options.log.info({ classes: left }, "class seats: this node's seats from a previous run cleared");
    return seats;
  }

  private constructor(options: RedisClassSeatsOptions) {
    this.#redis = options.redis.client;
    this.#o = options;
    this.cap = options.cap;
    // Connected again after an outage: Redis may have lost every field, or missed releases meanwhile.
    options.redis.on('down', this.#onDown);
    options.redis.on('up', this.#onUp);
    options.nodes.on('gone', this.#onGone);
    this.#timer = setInterval(() => void this.#rewrite(), options.rewriteMs ?? 5000);
    this.#timer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether this node seats on its own now, because Redis does not answer. */
  get degraded(): boolean {
    return this.#degraded;
  }

  #classKey(classId: string): string {
    return `${this.#o.prefix}:seats:${classId}`;
  }

  #heldKey(node: string): string {
    return `${this.#o.prefix}:seats-held:${node}`;
  }

  async take(classId: string): Promise<ClassSeat | undefined> {
    if (this.#closed) return undefined;
    const { nodeName } = this.#o;
    let took: unknown;
    this.#taking++;
    try {
      // Away: the take would wait in the connection's queue until Redis is back.
      if (!this.#redis.isReady) throw new Error('Redis is not connected');
      took = await this.#redis.eval(TAKE, {
        keys: [this.#classKey(classId), this.#heldKey(nodeName)],
        arguments: [nodeName, String(this.cap), classId],
      });
    } catch (err) {
      this.#degrade(err as Error);
      if (this.#own(classId) >= this.cap) return undefined;
      return this.#hold({ classId, inRedis: false });
    } finally {
      this.#taking--;
    }
    return took === 1 ? this.#hold({ classId, inRedis: true }) : undefined;
  }

  async taken(classId: string): Promise<number> {
    try {
      if (!this.#redis.isReady) throw new Error('Redis is not connected');
      const counts = await this.#redis.hVals(this.#classKey(classId));
      return counts.reduce((sum, n) => sum + Number(n), 0);
    } catch (err) {
      this.#degrade(err as Error);
      return this.#own(classId);
    }
  }

  /** This node's seats in the class. */
  #own(classId: string): number {
    let n = 0;
    for (const seat of this.#held) if (seat.classId === classId) n++;
    return n;
  }

  #hold(seat: HeldSeat): ClassSeat {
    this.#held.add(seat);
    return { release: () => this.#release(seat) };
  }

  #release(seat: HeldSeat): void {
    if (!this.#held.delete(seat) || this.#closed || !seat.inRedis) return;
    // Away: the fields are written again from what this node holds once Redis is back.
    if (!this.#redis.isReady) return this.#degrade(new Error('Redis is not connected'));
    const { nodeName } = this.#o;
    this.#redis
      .eval(RELEASE, { keys: [this.#classKey(seat.classId), this.#heldKey(nodeName)], arguments: [nodeName, seat.classId] })
      .catch((err: unknown) => this.#degrade(err as Error));
  }

  #setNode(node: string, counts: [string, number][]): Promise<number> {
    const pairs = counts.flatMap(([classId, n]) => [classId, String(n)]);
    return this.#redis.eval(SET_NODE, {
      keys: [this.#heldKey(node)],
      arguments: [node, `${this.#o.prefix}:seats:`, ...pairs],
    }) as Promise<number>;
  }

  async #drop(node: string): Promise<void> {
    if (this.#closed) return;
    try {
      const classes = await this.#setNode(node, []);
      if (classes > 0) this.#o.log.info({ gone: node, classes }, 'class seats of a gone node freed');
    } catch (err) {
      this.#o.log.warn({ err, gone: node }, 'could not free the class seats of a gone node');
    }
  }

  #degrade(err: Error): void {
    if (this.#degraded || this.#closed) return;
    this.#degraded = true;
    this.#o.log.warn({ err: err.message }, 'Redis does not answer: a class seats up to its cap on each node until it is back');
  }

  /**
   * This node's fields written from the seats it holds, those taken while Redis was away included: when Redis
   * answers again, and every few seconds. Not while a take is unanswered (its seat is counted in Redis, not yet here);
   * releases need no wait, as they leave what is held here before they are sent, in order, on the same connection.
   */
  async #rewrite(): Promise<void> {
    if (this.#closed || this.#taking > 0 || !this.#redis.isReady) return;
    const counts = new Map<string, number>();
    for (const seat of this.#held) {
      seat.inRedis = true;
      counts.set(seat.classId, (counts.get(seat.classId) ?? 0) + 1);
    }
    try {
      await this.#setNode(this.#o.nodeName, [...counts]);
    } catch (err) {
      this.#degrade(err as Error);
      return;
    }
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#o.log.info({ classes: counts.size }, "Redis answers again: this node's class seats are counted there again");
  }

  /** Shutdown (after the rooms closed): this node's seats go at once, whatever release did not reach Redis. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#o.nodes.off('gone', this.#onGone);
    this.#o.redis.off('down', this.#onDown);
    this.#o.redis.off('up', this.#onUp);
    this.#held.clear();
    // Reconnecting: nothing to say goodbye to (the others drop this node's fields once they see it gone).
    if (this.#redis.isReady)
      await this.#setNode(this.#o.nodeName, []).catch((err: unknown) =>
        this.#o.log.warn({ err }, "could not clear this node's class seats"),
      );
  }
}
