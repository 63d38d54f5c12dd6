// A request answered by another node of the cluster: the one that holds what it asks for (the node streaming a
// live class's HLS, the node of a WHIP or WHEP session). The request goes there as it came (method, path and
// query, the headers the caller names, its body) and the client gets that node's answer, streamed. The other
// node checks everything again (tokens, cookies, stream keys) as if the client had asked it. A relayed request
// is marked and never relayed again, so two nodes that disagree about who holds something cannot loop.
import type { Logger } from '../log.ts';
import type { NodeRegistry } from './node-registry.ts';
import { RecentLookups } from './recent-lookups.ts';

/** Marks a request one node relays to another: it is answered there or refused, never relayed again. */
export const RELAYED_HEADER = 'x-lectern-relayed';
/** On a relayed answer: the node that gave it (the client's node sets X-Lectern-Node to its own name). */
export const ANSWERED_BY_HEADER = 'x-lectern-answered-by';

/** How long a node's URL is remembered: a live player asks for a playlist several times a second. */
const URL_MEMO_MS = 1000;

/** Whether `request` came from another node: it is answered here, whatever this node holds. */
export function isRelayed(request: Request): boolean {
  return request.headers.has(RELAYED_HEADER);
}

export interface RelayRequest {
  /** The request's headers that travel with it, lower case (the rest stay here). */
  requestHeaders: readonly string[];
  /** The answer's headers the client gets, lower case. */
  answerHeaders: readonly string[];
  /** The request's body, read and bounded by the caller. */
  body?: Uint8Array<ArrayBuffer> | undefined;
  /** What the client is told when the node does not answer (it may be dying: try again shortly). */
  unreachable: string;
}

export class NodeRelay {
  readonly #nodes: Pick<NodeRegistry, 'nodeName' | 'urlOf'>;
  readonly #log: Logger;
  readonly #urls: RecentLookups<string | undefined>;

  constructor(options: { nodes: Pick<NodeRegistry, 'nodeName' | 'urlOf'>; log: Logger }) {
    this.#nodes = options.nodes;
    this.#log = options.log;
    this.#urls = new RecentLookups(
      (node) =>
        this.#nodes.urlOf(node).catch((err: unknown) => {
          // Redis away: nobody can be reached until it is back; the client is told so (503) rather than that the node is gone.
          this.#log.warn({ err, node }, 'relay: could not look the node up');
          throw err;
        }),
      { ms: URL_MEMO_MS, max: 1000 },
    );
  }

  get nodeName(): string {
    return this.#nodes.nodeName;
  }

  /**
   * `node`'s answer to `request` (503 when it does not answer); undefined when `node` is not part of the cluster
   * (it left, or was dropped when it stopped beating). DomainError 'unavailable' when Redis does not answer.
   */
  async forward(node: string, request: Request, how: RelayRequest): Promise<Response | undefined> {
    const base = await this.#urls.get(node);
    if (!base) return undefined;
    const { pathname, search } = new URL(request.url);
    const headers: Record<string, string> = { [RELAYED_HEADER]: this.#nodes.nodeName };
    for (const name of how.requestHeaders) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    let answer: Response;
    try {
      answer = await fetch(`${base}${pathname}${search}`, {
        method: request.method,
        headers,
        ...(how.body && how.body.length > 0 ? { body: how.body } : {}),
        signal: request.signal,
        redirect: 'manual',
      });
    } catch (err) {
      if (request.signal.aborted) throw err;
      this.#urls.forget(node);
      this.#log.warn({ node, url: base, path: pathname, err: (err as Error).message }, 'relay: the node did not answer');
      return Response.json(
        { error: { code: 'node_unreachable', message: how.unreachable } },
        { status: 503, headers: { 'retry-after': '1' } },
      );
    }
    const passed = new Headers({ [ANSWERED_BY_HEADER]: node });
    for (const name of how.answerHeaders) {
      const value = answer.headers.get(name);
      if (value !== null) passed.set(name, value);
    }
    // fetch hands over the body decoded: its length is the node's only when it was not compressed.
    const length = answer.headers.get('content-length');
    if (length !== null && !answer.headers.has('content-encoding')) passed.set('content-length', length);
    return new Response(answer.body, { status: answer.status, headers: passed });
  }
}
