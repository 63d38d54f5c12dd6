// Live HLS from any node: a viewer whose request lands on a node that does not stream the class gets it from
// the class's origin (where its HLS bridge runs), request for request (cluster/origin-relay.ts): the same path
// and token (the origin checks them again, as every node shares the media secret), the Range header, and a
// blocking playlist reload held open until the origin answers it; the viewer going away aborts the request to
// the origin. The live stream's view (its status and signed playlist URL) comes from the origin too, which alone
// knows how far its stream got.
import type { OriginRelay } from '../cluster/origin-relay.ts';

/** The origin's answer headers a viewer gets. */
const MEDIA_ANSWER = ['content-type', 'cache-control', 'content-range', 'accept-ranges', 'access-control-allow-origin'];
/** The view is asked for with the viewer's session (the origin checks who may watch, and signs their token). */
const VIEW_REQUEST = ['cookie'];
const VIEW_ANSWER = ['content-type', 'cache-control'];
const UNREACHABLE = 'The server streaming this class does not answer; try again shortly';

export class LiveHlsRelay {
  readonly #origin: Pick<OriginRelay, 'forward'>;

  constructor(options: { origin: Pick<OriginRelay, 'forward'> }) {
    this.#origin = options.origin;
  }

  /** The origin's answer to `request` for the class's live HLS (or the recording it writes); null when the class's origin is this node, or none. */
  forward(classId: string, request: Request): Promise<Response | null> {
    return this.#origin.forward(classId, request, { requestHeaders: ['range'], answerHeaders: MEDIA_ANSWER, unreachable: UNREACHABLE });
  }

  /** The origin's answer to the live stream's view (GET /api/media/classes/:id/live); null as for forward(). */
  view(classId: string, request: Request): Promise<Response | null> {
    return this.#origin.forward(classId, request, { requestHeaders: VIEW_REQUEST, answerHeaders: VIEW_ANSWER, unreachable: UNREACHABLE });
  }
}
