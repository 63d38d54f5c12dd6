// WHIP (RFC 9725) for encoders such as OBS, and the class's stream key:
//   POST   /api/classes/:classId/whip                 offer (application/sdp, Bearer stream key) -> 201 answer
//   DELETE /api/classes/:classId/whip/:sessionId      the encoder stops (200, as OBS expects); on any node
//   PATCH  /api/classes/:classId/whip/:sessionId      405: the answer carries every candidate and no trickle
//   OPTIONS on both                                   CORS preflight (encoders in a web page)
//   POST   /api/classes/:classId/stream-key           a new key (the teacher or an admin): { key, whipUrl }
//   GET    /api/classes/:classId/encoder              the studio's view: key made when, encoder session, stats
//   DELETE /api/classes/:classId/encoder              the studio's "End encoder broadcast"
// WHIP requests authenticate with the key alone (no cookie), so CORS may allow any origin.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Permissions } from '../../auth/permissions.ts';
import { MAX_STREAM_KEY_LENGTH, type StreamKeys } from '../../auth/stream-keys.ts';
import type { OriginRelay } from '../../cluster/origin-relay.ts';
import type { EncoderView } from '../../contracts/encoder.ts';
import type { ClassSchedule } from '../../courses/class-schedule.ts';
import type { Logger } from '../../log.ts';
import { MAX_OFFER_BYTES } from '../../sfu/whip-sdp.ts';
import { WhipRefusal, type WhipIngest } from '../../sfu/whip-ingest.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { readBoundedBytes } from '../validate.ts';
import { isSdp, sdpSessionCors, sessionRelay, type SessionRelayParts } from './sdp-sessions.ts';
import { idParam, refuse } from './access.ts';

export interface WhipRouteParts {
  ingest: WhipIngest;
  keys: StreamKeys;
  schedule: Pick<ClassSchedule, 'get'>;
  permissions: Permissions;
  /** LECTERN_ORIGIN: the WHIP URL handed to teachers; the request's own origin when unset. */
  origin: string | undefined;
  /** With several nodes: a session's DELETE or PATCH that lands here is relayed to the node holding the session. */
  relay?: SessionRelayParts | undefined;
  /** With several nodes: the encoder publishes on the class's origin, which the studio's requests go to from elsewhere. */
  classOrigin?: Pick<OriginRelay, 'forward'> | undefined;
  log: Logger;
}

/** The encoder session as the class's origin describes it (GET /encoder there). */
const RemoteEncoder = z.object({
  session: z
    .object({
      id: z.string().max(64),
      startedAt: z.string().max(40),
      connected: z.boolean(),
      bitrate: z.number(),
      video: z
        .object({
          mimeType: z.string().max(64),
          layers: z.number(),
          width: z.number().nullable(),
          height: z.number().nullable(),
          frameRate: z.number().nullable(),
        })
        .nullable(),
      audio: z.object({ mimeType: z.string().max(64) }).nullable(),
    })
    .nullable(),
});
/** What the studio's requests carry to the origin: the teacher's session (checked again there). */
const STUDIO_REQUEST = ['cookie', 'origin'];
const ORIGIN_UNREACHABLE = "The server the class's encoder publishes to does not answer; try again shortly";

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function bearerOf(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Something that is not a bearer token (or far too long to be a key) is a wrong key, not a missing one.
  if (!match || match[1]!.length > MAX_STREAM_KEY_LENGTH) return 'invalid';
  return match[1];
}

function refusal(c: Context, err: unknown): never {
  if (err instanceof WhipRefusal) {
    if (err.status === 401) c.header('www-authenticate', 'Bearer realm="Lectern WHIP"');
    throw new ApiFailure(err.status, err.code, err.message);
  }
  throw err;
}

export const whipRoutes = ({ ingest, keys, schedule, permissions, origin, relay, classOrigin, log }: WhipRouteParts) => {
  const whipUrl = (c: Context, classId: string): string => `${origin ?? new URL(c.req.url).origin}/api/classes/${classId}/whip`;

  /** The class, for its teacher or an admin (404 for anyone who may not see it). */
  const staffClass = async (c: Context<AppEnv>) => {
    const user = requireUser(c);
    const classId = idParam(c, 'classId', 'class');
    const liveClass = await schedule.get(classId);
    if (!liveClass) throw new ApiFailure(404, 'not_found', 'No such class');
    const access = await permissions.courseRole(user, liveClass.courseId);
    if (!access) throw new ApiFailure(404, 'not_found', 'No such class');
    if (liveClass.teacherId !== user.id && user.role !== 'admin') refuse(c, "Only the class's teacher or an admin manages its stream key");
    return { user, liveClass };
  };

  /** The encoder session of a class whose encoder publishes on another node (the class's origin), as it tells. */
  const remoteSession = async (c: Context<AppEnv>, classId: string): Promise<EncoderView['session']> => {
    const answer = await classOrigin?.forward(classId, c.req.raw, {
      requestHeaders: STUDIO_REQUEST,
      answerHeaders: [],
      unreachable: ORIGIN_UNREACHABLE,
    });
    if (!answer) return null;
    const text = answer.ok ? await answer.text() : '';
    const parsed = text.length <= 16_384 ? RemoteEncoder.safeParse(parseJson(text)) : undefined;
    if (parsed?.success) return parsed.data.session;
    log.warn({ classId, status: answer.status }, "the class's origin did not tell its encoder session");
    return null;
  };
  /** Ends the encoder session on the class's origin (DELETE /encoder there); its answer, or null when the origin is here. */
  const endElsewhere = (c: Context<AppEnv>, classId: string): Promise<Response | null> =>
    classOrigin
      ? classOrigin.forward(
          classId,
          new Request(new URL(`/api/classes/${classId}/encoder`, c.req.url), {
            method: 'DELETE',
            headers: c.req.raw.headers,
            signal: c.req.raw.signal,
          }),
          { requestHeaders: STUDIO_REQUEST, answerHeaders: ['content-type'], unreachable: ORIGIN_UNREACHABLE },
        )
      : Promise.resolve(null);

  return new Hono<AppEnv>()
    .use('/:classId/whip', sdpSessionCors)
    .use('/:classId/whip/*', sdpSessionCors)
    .use('/:classId/whip/:sessionId', sessionRelay('whip', relay))
    .post('/:classId/whip', async (c) => {
      const classId = idParam(c, 'classId', 'class');
      if (!isSdp(c.req.header('content-type')))
        throw new ApiFailure(415, 'unsupported_media_type', 'Send the SDP offer with Content-Type: application/sdp');
      const bearer = bearerOf(c);
      const offer = (await readBoundedBytes(c, MAX_OFFER_BYTES)).toString('utf8');
      const session = await ingest.publish(classId, bearer, offer).catch((err: unknown) => refusal(c, err));
      return c.body(session.answer, 201, {
        'content-type': 'application/sdp',
        location: `/api/classes/${classId}/whip/${session.id}`,
        etag: session.etag,
      });
    })
    .delete('/:classId/whip/:sessionId', async (c) => {
      const classId = idParam(c, 'classId', 'class');
      await ingest.remove(classId, c.req.param('sessionId'), bearerOf(c)).catch((err: unknown) => refusal(c, err));
      // OBS treats anything but 200 as a failed DELETE.
      return c.body(null, 200);
    })
    .patch('/:classId/whip/:sessionId', (c) => {
      // The answer gives every candidate (ICE-lite, end-of-candidates): no trickle, no ICE restart by PATCH.
      c.header('allow', 'DELETE, OPTIONS');
      throw new ApiFailure(405, 'method_not_allowed', 'Trickle ICE and ICE restarts are not supported: the answer lists every candidate');
    })
    .post('/:classId/stream-key', async (c) => {
      const { user, liveClass } = await staffClass(c);
      if (liveClass.status === 'ended' || liveClass.status === 'cancelled')
        throw new ApiFailure(409, 'class_over', `This class is ${liveClass.status}: it needs no stream key`);
      const { key, revoked } = await keys.rotate(liveClass.id, user.id);
      if (revoked) ingest.revokeKey(revoked.id);
      // An encoder publishing on another node did so with the key just revoked: its session ends there.
      if (revoked && !ingest.session(liveClass.id)) {
        const ended = await endElsewhere(c, liveClass.id);
        if (ended && !ended.ok)
          log.warn({ classId: liveClass.id, status: ended.status }, "could not end the encoder session on the class's origin");
      }
      log.info({ classId: liveClass.id, userId: user.id, rotated: Boolean(revoked) }, 'stream key made');
      return c.json({ key, whipUrl: whipUrl(c, liveClass.id) }, 201);
    })
    .get('/:classId/encoder', async (c) => {
      const { liveClass } = await staffClass(c);
      const current = await keys.current(liveClass.id);
      const session = ingest.session(liveClass.id);
      const view: EncoderView = {
        whipUrl: whipUrl(c, liveClass.id),
        streamKey: current ? { createdAt: current.createdAt.toISOString() } : null,
        session: session
          ? { id: session.id, startedAt: session.startedAt.toISOString(), connected: session.connected, ...(await session.stats()) }
          : await remoteSession(c, liveClass.id),
      };
      return c.json(view);
    })
    .delete('/:classId/encoder', async (c) => {
      const { liveClass } = await staffClass(c);
      if (ingest.end(liveClass.id)) return c.json({ ended: true });
      return (await endElsewhere(c, liveClass.id)) ?? c.json({ ended: false });
    });
};
