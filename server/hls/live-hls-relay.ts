// Live HLS from any node: a viewer whose request lands on a node that does not stream the class gets it from
// the class's origin (the node holding its claim in cluster/class-origins.ts, where its HLS bridge runs), request
// for request through the cluster's relay (cluster/node-relay.ts): the same path and token (the origin checks them
// again, as every node shares the media secret), the Range header, and a blocking playlist reload held open until
// the origin answers it; the viewer going away aborts the request to the origin. The live stream's view (its
// status and signed playlist URL) comes from the origin too, which alone knows how far its stream got.
import type { ClassOrigins } from '../cluster/class-origins.ts';
import { isRelayed, type NodeRelay, type RelayRequest } from '../cluster/node-relay.ts';
import type { Logger } from '../log.ts';

/** The origin's answer headers a viewer gets. */
const MEDIA_ANSWER = ['content-type', 'cache-control', 'content-range', 'accept-ranges', 'access-control-allow-origin'];
/** The view is asked for with the viewer's session (the origin checks who may watch, and signs their token). */
const VIEW_REQUEST = ['cookie'];
const VIEW_ANSWER = ['content-type', 'cache-control'];
const UNREACHABLE = 'The server streaming this class does not answer; try again shortly';

/** A holder lookup is remembered this long: a player asks for a playlist every part (a few times a second). */
const LOOKUP_MEMO_MS = 1000;

export class LiveHlsRelay {
  readonly #origins: Pick<ClassOrigins, 'holder'>;
  readonly #relay: NodeRelay;
  readonly #log: Logger;
  readonly #memo = new Map<string, { at: number; holder: Promise<string | undefined> }>();

  constructor(options: { origins: Pick<ClassOrigins, 'holder'>; relay: NodeRelay; log: Logger }) {
    this.#origins = options.origins;
    this.#relay = options.relay;
    this.#log = options.log;
  }

  /** The origin's answer to `request` for the class's live HLS (or the recording it writes); null when the class's origin is this node, or none. */
  forward(classId: string, request: Request): Promise<Response | null> {
    return this.#toOrigin(classId, request, { requestHeaders: ['range'], answerHeaders: MEDIA_ANSWER, unreachable: UNREACHABLE });
  }

  /** The origin's answer to the live stream's view (GET /api/media/classes/:id/live); null as for forward(). */
  view(classId: string, request: Request): Promise<Response | null> {
    return this.#toOrigin(classId, request, { requestHeaders: VIEW_REQUEST, answerHeaders: VIEW_ANSWER, unreachable: UNREACHABLE });
  }

  async #toOrigin(classId: string, request: Request, how: RelayRequest): Promise<Response | null> {
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
      this.#log.warn({ err, classId }, 'live HLS: could not look the class origin up');
      return undefined;
    });
    this.#memo.set(classId, { at: now, holder });
    return holder;
  }
}
