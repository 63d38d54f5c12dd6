// A request about a live class answered by the class's origin, the node holding its claim (class-origins.ts):
// where its HLS bridge runs and its encoder publishes. Used when this node does not have what is asked for (the
// class's live HLS, the encoder's session); the request goes there through the cluster's relay (node-relay.ts).
import type { Logger } from '../log.ts';
import type { ClassOrigins } from './class-origins.ts';
import { isRelayed, type NodeRelay, type RelayRequest } from './node-relay.ts';
import { RecentLookups } from './recent-lookups.ts';

/** A holder lookup is remembered this long: a player asks for a playlist every part (a few times a second). */
const LOOKUP_MEMO_MS = 1000;

export class OriginRelay {
  readonly #relay: NodeRelay;
  readonly #holders: RecentLookups<string | undefined>;

  constructor({ origins, relay, log }: { origins: Pick<ClassOrigins, 'holder'>; relay: NodeRelay; log: Logger }) {
    this.#relay = relay;
    this.#holders = new RecentLookups(
      (classId) =>
        origins.holder(classId).catch((err: unknown) => {
          // Redis away: this node answers for its own classes only until it is back.
          log.warn({ err, classId }, 'could not look the class origin up');
          return undefined;
        }),
      { ms: LOOKUP_MEMO_MS, max: 10_000 },
    );
  }

  /**
   * The origin's answer to `request`; null when the class's origin is this node or none (or a node that is gone),
   * and for a request another node relayed here.
   */
  async forward(classId: string, request: Request, how: RelayRequest): Promise<Response | null> {
    if (isRelayed(request)) return null;
    const holder = await this.#holders.get(classId);
    if (!holder || holder === this.#relay.nodeName) return null;
    return (await this.#relay.forward(holder, request, how)) ?? null;
  }
}
