// WHEP playback (draft-ietf-wish-whep) of a live class, for any WHEP player:
//   POST   /api/classes/:classId/whep                 offer (application/sdp) -> 201 answer, Location, ETag
//   DELETE /api/classes/:classId/whep/:sessionId      the viewer leaves (200); on any node
//   PATCH  /api/classes/:classId/whep/:sessionId      405: the answer carries every candidate and no trickle
//   OPTIONS on both                                   CORS preflight (players on other sites)
// A viewer proves who they are with their session cookie (our own pages) or with the class's media token as
// "Authorization: Bearer" (GET /api/media/classes/:classId/live hands it out), which players on other sites use.
// CORS allows any origin without credentials: a cookie never travels cross-site here, a token works anywhere.
import { Hono, type Context } from 'hono';
import type { Accounts } from '../../auth/accounts.ts';
import type { SessionUser } from '../../auth/session-store.ts';
import type { MediaTokens } from '../../hls/media-tokens.ts';
import { MAX_OFFER_BYTES } from '../../sfu/webrtc-sdp.ts';
import { WhepRefusal, type WhepPlayback } from '../../sfu/whep-playback.ts';
import { ApiFailure } from '../errors.ts';
import type { AppEnv } from '../session.ts';
import { readBoundedBytes } from '../validate.ts';
import { isSdp, sdpSessionCors, sessionRelay, type SessionRelayParts } from './sdp-sessions.ts';
import { idParam } from './access.ts';

export interface WhepRouteParts {
  playback: WhepPlayback;
  tokens: Pick<MediaTokens, 'verify'>;
  accounts: Pick<Accounts, 'byId'>;
  /** With several nodes: a session's DELETE or PATCH that lands here is relayed to the node holding the session. */
  relay?: SessionRelayParts | undefined;
}

function unauthorized(c: Context, code: string, message: string): never {
  c.header('www-authenticate', 'Bearer realm="Lectern WHEP"');
  throw new ApiFailure(401, code, message);
}

function refusal(err: unknown): never {
  if (err instanceof WhepRefusal) throw new ApiFailure(err.status, err.code, err.message);
  throw err;
}

export const whepRoutes = ({ playback, tokens, accounts, relay }: WhepRouteParts) => {
  /**
   * The viewer: the holder of a media token of this class (checked at `at`: a session may be ended with the
   * token it was opened with, even once that expired), else the session cookie's user.
   */
  const viewer = async (c: Context<AppEnv>, classId: string, at = Date.now()): Promise<SessionUser> => {
    const header = c.req.header('authorization');
    if (header) {
      const token = /^Bearer\s+(\S{1,512})\s*$/i.exec(header)?.[1];
      const check = tokens.verify(token, { kind: 'class', id: classId }, at);
      if (!check.ok) {
        if (check.reason === 'expired')
          unauthorized(c, 'token_expired', `This media token has expired: get a new one from GET /api/media/classes/${classId}/live`);
        unauthorized(c, 'invalid_token', 'This bearer token is not a media token of this class');
      }
      const user = await accounts.byId(check.claims.userId);
      if (!user) unauthorized(c, 'invalid_token', 'The account of this media token is gone');
      return user;
    }
    const user = c.get('user');
    if (!user) unauthorized(c, 'unauthenticated', 'Log in, or send a media token of this class as "Authorization: Bearer <token>"');
    return user;
  };

  return new Hono<AppEnv>()
    .use('/:classId/whep', sdpSessionCors)
    .use('/:classId/whep/*', sdpSessionCors)
    .use('/:classId/whep/:sessionId', sessionRelay('whep', relay))
    .post('/:classId/whep', async (c) => {
      const classId = idParam(c, 'classId', 'class');
      if (!isSdp(c.req.header('content-type')))
        throw new ApiFailure(415, 'unsupported_media_type', 'Send the SDP offer with Content-Type: application/sdp');
      const user = await viewer(c, classId);
      const offer = (await readBoundedBytes(c, MAX_OFFER_BYTES)).toString('utf8');
      const session = await playback.play(classId, user, offer).catch(refusal);
      return c.body(session.answer, 201, {
        'content-type': 'application/sdp',
        location: `/api/classes/${classId}/whep/${session.id}`,
        etag: session.etag,
      });
    })
    .delete('/:classId/whep/:sessionId', async (c) => {
      const classId = idParam(c, 'classId', 'class');
      const sessionId = c.req.param('sessionId');
      const user = await viewer(c, classId, playback.session(sessionId)?.startedAt.getTime());
      try {
        playback.remove(classId, sessionId, user);
      } catch (err) {
        refusal(err);
      }
      return c.body(null, 200);
    })
    .patch('/:classId/whep/:sessionId', (c) => {
      // As for WHIP: the answer gives every candidate (ICE-lite, end-of-candidates); no trickle, no ICE restart.
      c.header('allow', 'DELETE, OPTIONS');
      throw new ApiFailure(405, 'method_not_allowed', 'Trickle ICE and ICE restarts are not supported: the answer lists every candidate');
    });
};
