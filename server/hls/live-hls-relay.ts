// Live HLS from any node: a viewer whose request lands on a node that does not stream the class gets it from
// the class's origin node (hls-origins.ts), request for request: the same path and token (the origin checks
// them again, as every node shares the media secret), the Range header, and a blocking playlist reload held
// open until the origin answers it; the viewer going away aborts the request to the origin.
import type { Logger } from '../log.ts';
import type { HlsOrigins } from './hls-origins.ts';

/** Marks a request one node relays to another: it is answered there or refused, never relayed again. */
export const RELAYED_HEADER = 'x-lectern-relayed';

/** The origin's answer headers a viewer gets. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'content-range', 'accept-ranges', 'access-control-allow-origin'];

export class LiveHlsRelay {
  readonly #origins: HlsOrigins;
  readonly #log: Logger;

  constructor(options: { origins: HlsOrigins; log: Logger }) {
    this.#origins = options.origins;
    this.#log = options.log;
  }

  /** The origin's answer to `request` for the class's live HLS; null when no other node streams the class. */
  async forward(classId: string, request: Request): Promise<Response | null> {
    if (request.headers.has(RELAYED_HEADER)) return null;
    const origin = await this.#origins.originOf(classId);
    if (!origin) return null;
    const { pathname, search } = new URL(request.url);
    const headers: Record<string, string> = { [RELAYED_HEADER]: '1' };
    const range = request.headers.get('range');
    if (range) headers.range = range;
    let answer: Response;
    try {
      answer = await fetch(`${origin.nodeUrl}${pathname}${search}`, { headers, signal: request.signal, redirect: 'manual' });
    } catch (err) {
      if (request.signal.aborted) throw err;
      this.#log.warn({ classId, origin: origin.nodeUrl, err: (err as Error).message }, 'live HLS: the class origin did not answer');
      return Response.json(
        { error: { code: 'origin_unreachable', message: 'The server streaming this class does not answer; try again shortly' } },
        { status: 503, headers: { 'retry-after': '1' } },
      );
    }
    const passed = new Headers();
    for (const name of PASSED_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) passed.set(name, value);
    }
    // fetch hands over the body decoded: its length is the origin's only when it was not compressed.
    const length = answer.headers.get('content-length');
    if (length !== null && !answer.headers.has('content-encoding')) passed.set('content-length', length);
    return new Response(answer.body, { status: answer.status, headers: passed });
  }
}
