// Which node makes a live class's HLS (the node whose bridge consumes the teacher's media: the class's origin,
// cluster/class-origins.ts), how the other nodes reach it and how far its stream got, for the nodes that relay
// their viewers' requests there (live-hls-relay.ts). Each node announces the classes it streams in Redis under a
// key that expires unless renewed (a heartbeat), so a node that dies stops being anyone's origin within seconds.
import os from 'node:os';
import { createClient } from 'redis';
import type { Logger } from '../log.ts';
import type { LiveStatus } from './live-hls.ts';

/** Where a class streams: the origin node's URL (as other nodes reach it) and how far its stream got. */
export interface HlsOrigin {
  nodeUrl: string;
  status: Exclude<LiveStatus, 'offline'>;
}

/** The lookup the relay needs; a cluster may answer it differently (e.g. with the node the teacher publishes to). */
export interface HlsOrigins {
  /** The class's origin when it is another node; null when no other node streams it. */
  originOf(classId: string): Promise<HlsOrigin | null>;
}

export interface RedisHlsOriginsOptions {
  redisUrl: string;
  /** The deployment's Redis key prefix. */
  prefix: string;
  /** This node's URL as the others reach it (known once it listens). */
  nodeUrl: () => string;
  /** The classes this node streams now, with their status. */
  streaming: () => Iterable<[classId: string, status: LiveStatus]>;
  log: Logger;
  /** How often announcements are renewed; they expire after three missed beats. */
  beatMs?: number;
}

/** A lookup is remembered this long: a player asks for a playlist every part (a few times a second). */
const LOOKUP_MEMO_MS = 1000;

export class RedisHlsOrigins implements HlsOrigins {
  readonly #o: RedisHlsOriginsOptions;
  readonly #client: ReturnType<typeof createClient>;
  readonly #announced = new Set<string>();
  readonly #memo = new Map<string, { at: number; origin: Promise<HlsOrigin | null> }>();
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisHlsOriginsOptions) {
    this.#o = options;
    this.#client = createClient({ url: options.redisUrl });
    this.#client.on('error', (err) => options.log.warn({ err }, 'class origins: redis error'));
  }

  get #beatMs(): number {
    return this.#o.beatMs ?? 2000;
  }

  async start(): Promise<void> {
    await this.#client.connect();
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat()
        .catch((err: unknown) => this.#o.log.warn({ err }, 'class origins: heartbeat failed'))
        .finally(() => (this.#beating = undefined));
    }, this.#beatMs);
    this.#timer.unref();
  }

  originOf(classId: string): Promise<HlsOrigin | null> {
    const now = Date.now();
    const memo = this.#memo.get(classId);
    if (memo && now - memo.at < LOOKUP_MEMO_MS) return memo.origin;
    if (this.#memo.size > 10_000) this.#memo.clear();
    const origin = this.#lookup(classId);
    this.#memo.set(classId, { at: now, origin });
    return origin;
  }

  /** Stops announcing and withdraws this node's classes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#beating;
    for (const classId of this.#announced) await this.#withdraw(classId).catch(() => undefined);
    await this.#client.quit().catch(() => undefined);
  }

  async #lookup(classId: string): Promise<HlsOrigin | null> {
    let text: string | null;
    try {
      text = await this.#client.get(this.#key(classId));
    } catch (err) {
      // Redis away: this node answers for its own classes only until it is back.
      this.#o.log.warn({ err, classId }, 'class origins: lookup failed');
      return null;
    }
    const origin = parseOrigin(text);
    return origin && origin.nodeUrl !== this.#o.nodeUrl() ? origin : null;
  }

  async #beat(): Promise<void> {
    const nodeUrl = this.#o.nodeUrl();
    const now = new Set<string>();
    for (const [classId, status] of this.#o.streaming()) {
      if (status === 'offline') continue;
      now.add(classId);
      const origin: HlsOrigin = { nodeUrl, status };
      await this.#client.set(this.#key(classId), JSON.stringify(origin), { expiration: { type: 'PX', value: 3 * this.#beatMs } });
      this.#announced.add(classId);
    }
    for (const classId of this.#announced) if (!now.has(classId)) await this.#withdraw(classId);
  }

  /** Removes the class's announcement if it is still this node's (another node may have taken the class over). */
  async #withdraw(classId: string): Promise<void> {
    this.#announced.delete(classId);
    const origin = parseOrigin(await this.#client.get(this.#key(classId)));
    if (origin?.nodeUrl === this.#o.nodeUrl()) await this.#client.del(this.#key(classId));
  }

  #key(classId: string): string {
    return `${this.#o.prefix}:hls-origin:${classId}`;
  }
}

function parseOrigin(text: string | null): HlsOrigin | null {
  if (!text) return null;
  try {
    const origin = JSON.parse(text) as Partial<HlsOrigin>;
    return typeof origin.nodeUrl === 'string' && (origin.status === 'live' || origin.status === 'starting')
      ? { nodeUrl: origin.nodeUrl, status: origin.status }
      : null;
  } catch {
    return null;
  }
}

/** How other nodes reach this one by default: the address it listens on, or its first outside IPv4 address when it listens on all. */
export function defaultNodeUrl(host: string, port: number): string {
  let address = host;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const outside = Object.values(os.networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    address = outside?.address ?? '127.0.0.1';
  }
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}
