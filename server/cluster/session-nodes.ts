// Which node holds each WHIP and WHEP session, kept in Redis: `<prefix>:sdp-session:<kind>:<sessionId>` holds the
// node's name. A session lives in the process that made it (its peer, transport and producers or consumers), but
// behind a load balancer the encoder's or player's DELETE (or PATCH) of its session URL may land on any node,
// which relays it to the holder (cluster/node-relay.ts). A record expires unless its node renews it, so a node
// that dies leaves none behind for long; once its session closes, the record lives on briefly, so a DELETE sent
// just after the client closed its connection (OBS does that) still reaches the node that remembers it ended.
// Records Redis lost (it restarted empty) are written again as soon as it is back.
import type { Logger } from '../log.ts';
import type { ClusterRedis, RedisClient } from './cluster-redis.ts';

export type SdpSessionKind = 'whip' | 'whep';

/** How long a record lives without renewal. */
const RECORD_TTL_MS = 60_000;
const RENEW_MS = 20_000;
/** How long a closed session's record stays (the holder answers a late DELETE with 200, as for one deleted now). */
const ENDED_TTL_MS = 30_000;

/** What a WHIP ingest or WHEP playback tells about its sessions. */
export interface SessionRecords {
  /** The session is open on this node (resolves once other nodes can find it; a Redis failure is logged, not thrown). */
  opened(sessionId: string): Promise<void>;
  /** The session closed. */
  closed(sessionId: string): void;
}

export class SessionNodes {
  readonly nodeName: string;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #log: Logger;
  /** The keys of this node's open sessions, renewed while they are open. */
  readonly #held = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  readonly #connection: ClusterRedis;
  readonly #onUp = (): void => void this.#renew();
  #closed = false;

  /** `redis`: this node's connection (its owner closes it after this). */
  constructor(options: { redis: ClusterRedis; prefix: string; nodeName: string; log: Logger }) {
    this.#connection = options.redis;
    this.#redis = options.redis.client;
    this.#prefix = options.prefix;
    this.nodeName = options.nodeName;
    this.#log = options.log;
    this.#timer = setInterval(() => void this.#renew(), RENEW_MS);
    this.#timer.unref();
    options.redis.on('up', this.#onUp);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The records of one kind of session, for the part that makes them. */
  of(kind: SdpSessionKind): SessionRecords {
    return {
      opened: (sessionId) => this.#opened(this.#key(kind, sessionId)),
      closed: (sessionId) => this.#ended(this.#key(kind, sessionId)),
    };
  }

  /** The node that holds (or lately held) the session; undefined when none does. DomainError 'unavailable' when Redis does not answer. */
  async nodeOf(kind: SdpSessionKind, sessionId: string): Promise<string | undefined> {
    return (await this.#connection.answer((redis) => redis.get(this.#key(kind, sessionId)))) ?? undefined;
  }

  /** Shutdown: this node's records go at once (its sessions closed with it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#connection.off('up', this.#onUp);
    const keys = [...this.#held];
    this.#held.clear();
    // While Redis is away the delete would only wait in the queue: the records expire on their own.
    if (keys.length > 0 && this.#redis.isReady)
      await this.#redis.del(keys).catch((err: unknown) => this.#log.warn({ err }, 'could not remove the session records'));
  }

  #key(kind: SdpSessionKind, sessionId: string): string {
    return `${this.#prefix}:sdp-session:${kind}:${sessionId}`;
  }

  async #opened(key: string): Promise<void> {
    if (this.#closed) return;
    this.#held.add(key);
    await this.#redis
      .set(key, this.nodeName, { expiration: { type: 'PX', value: RECORD_TTL_MS } })
      .catch((err: unknown) => this.#log.warn({ err, key }, 'could not record the session: other nodes cannot relay to it'));
  }

  #ended(key: string): void {
    if (!this.#held.delete(key) || this.#closed) return;
    this.#redis.pExpire(key, ENDED_TTL_MS).catch((err: unknown) => this.#log.warn({ err, key }, 'could not shorten the session record'));
  }

  async #renew(): Promise<void> {
    if (this.#held.size === 0 || !this.#redis.isReady || this.#closed) return;
    const batch = this.#redis.multi();
    // Written again rather than only extended: a record lost while Redis was away comes back.
    for (const key of this.#held) batch.set(key, this.nodeName, { expiration: { type: 'PX', value: RECORD_TTL_MS } });
    await batch.exec().catch((err: unknown) => this.#log.warn({ err }, 'could not renew the session records'));
  }
}
