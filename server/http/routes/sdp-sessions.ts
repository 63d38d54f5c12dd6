// What the WHIP and WHEP routes share: an SDP offer's content type, CORS for clients on any site that
// authenticate with a bearer token (an encoder's stream key, a player's media token), never with credentials,
// and, with several nodes, a session's DELETE or PATCH relayed to the node that holds the session.
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { isRelayed, type NodeRelay } from '../../cluster/node-relay.ts';
import type { SdpSessionKind, SessionNodes } from '../../cluster/session-nodes.ts';
import type { Logger } from '../../log.ts';
import { MAX_OFFER_BYTES } from '../../sfu/webrtc-sdp.ts';
import { ApiFailure } from '../errors.ts';
import type { AppEnv } from '../session.ts';
import { readBoundedBytes } from '../validate.ts';

export const sdpSessionCors = cors({
  origin: '*',
  allowMethods: ['POST', 'DELETE', 'PATCH', 'OPTIONS'],
  allowHeaders: ['Authorization', 'Content-Type', 'If-Match'],
  exposeHeaders: ['Location', 'ETag', 'Link', 'Allow'],
  maxAge: 600,
});

export const isSdp = (contentType: string | undefined): boolean => /^application\/sdp\s*(;|$)/i.test(contentType ?? '');

/** With several nodes: where each session lives, and the relay to the node that holds one. */
export interface SessionRelayParts {
  nodes: Pick<SessionNodes, 'nodeOf' | 'nodeName'>;
  relay: NodeRelay;
  log: Logger;
}

/** Session ids are UUIDs: anything else is no session anywhere (and is not looked up). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What the holder needs to check the request as if the client had sent it there (a WHEP viewer may use their cookie). */
const SESSION_REQUEST = ['authorization', 'content-type', 'if-match', 'cookie', 'origin'];
const SESSION_ANSWER = ['content-type', 'etag', 'allow', 'www-authenticate', 'link'];

/**
 * DELETE and PATCH of `/:sessionId` for a session another node holds: answered by that node (which checks the
 * credentials again); 404 with why when that node is gone. Sessions held here, unknown ones and requests another
 * node relayed go on to this node's own routes.
 */
export function sessionRelay(kind: SdpSessionKind, parts: SessionRelayParts | undefined): MiddlewareHandler<AppEnv> {
  const name = kind.toUpperCase();
  return async (c, next) => {
    const sessionId = c.req.param('sessionId') ?? '';
    if (!parts || !['DELETE', 'PATCH'].includes(c.req.method) || isRelayed(c.req.raw) || !SESSION_ID.test(sessionId)) return next();
    // Redis away: DomainError 'unavailable' (503), as this node cannot tell whether another one holds the session.
    const node = await parts.nodes.nodeOf(kind, sessionId).catch((err: unknown) => {
      parts.log.warn({ err, sessionId }, `could not look up the node of a ${name} session`);
      throw err;
    });
    if (!node || node === parts.nodes.nodeName) return next();
    const body = new Uint8Array(await readBoundedBytes(c, MAX_OFFER_BYTES));
    const answer = await parts.relay.forward(node, c.req.raw, {
      requestHeaders: SESSION_REQUEST,
      answerHeaders: SESSION_ANSWER,
      body,
      unreachable: `The server holding this ${name} session (${node}) does not answer; try again shortly`,
    });
    if (!answer)
      throw new ApiFailure(
        404,
        'session_gone',
        `The server that held this ${name} session (${node}) is gone, and the session ended with it`,
      );
    return answer;
  };
}
