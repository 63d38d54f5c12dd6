// A request about a live class answered by the class's origin, the node holding its claim (class-origins.ts):
// where its HLS bridge runs and its encoder publishes. Used when this node does not have what is asked for (the
// class's live HLS, the encoder's session); the request goes there through the cluster's relay (node-relay.ts).
import type { Logger } from '../log.ts';
import type { ClassOrigins } from './class-origins.ts';
import { isRelayed, type NodeRelay, type RelayRequest } from './node-relay.ts';

/** A holder lookup is remembered this long: a player asks for a playlist every part (a few times a second). */
const LOOKUP_MEMO_MS = 1000;

export class OriginRelay {
  readonly #origins: Pick<ClassOrigins, 'holder'>;
  readonly #relay: NodeRelay;
  readonly #log: Logger;
  readonly #memo = new Map<string, { at: number; holder: Promise<string | undefined> }>();

  constructor(options: { origins: Pick<ClassOrigins, 'holder'>; relay: NodeRelay; log: Logger }) {
    this.#origins = options.origins;
    this.#relay = options.relay;
    this.#log = options.log;
  }

  /**
   * The origin's answer to `request`; null when the class's origin is this node or none (or a node that is gone),
   * and for a request another node relayed here.
   */
  async forward(classId: string, request: Request, how: RelayRequest): Promise<Response | null> {
    if (isRelayed(request)) return null;
    const holder = await this.#holder(classId);
    if (!holder || holder === this.#relay.nodeName) return null;
    return (await this.#relay.forward(holder, request, how)) ?? null;
  }

  #holder(classId: string): Promise<string | undefined> {
    const now = Date.now();
    const memo = this.#memo.get(classId);
    if (memo && now - memo.at < LOOKUP_MEMO_MS) return memo.holder;
    if (this.#memo.size > 10_000) this.#memo.clear();
    const holder = this.#origins.holder(classId).catch((err: unknown) => {
      // Redis away: this node answers for its own classes only until it is back.
      this.#log.warn({ err, classId }, 'could not look the class origin up');
      return undefined;
    });
    this.#memo.set(classId, { at: now, holder });
    return holder;
  }
}
