// Media: signed URLs (under /api/media, session-authenticated) and the HLS files they open (under /media,
// token-authenticated so a CDN can sit in front). Each /media request checks the token and the holder's
// access, then asks the rendition set of the live class, recording or lesson for the playlist or file.
// The signed URLs carry the token in a path prefix, /media/t/<token>/...: playlists then list plain relative
// URIs, the same for every viewer, and every file of a viewer's session has a stable URL a CDN can cache
// (README, "Serving media through a CDN"). The older form, ?token= on each URL, is still answered.
//
//   GET /api/media/classes/:classId/live          -> LiveStreamView (signed master URL of the live class)
//   GET /api/media/classes/:classId/recordings    -> RecordingView[]
//   GET /api/media/recordings/:recordingId        -> ReplayView (recording, lesson, resume position)
//   DELETE /api/media/recordings/:recordingId     -> the replay and all its files go (teacher, admins)
//   PUT|DELETE /api/media/recordings/:recordingId/captions?name=&language=&label=  (body: the .vtt/.srt file)
//   GET /media/recordings/:recordingId/captions.vtt         ?token
//   GET /media/recordings/:recordingId/chapters.vtt         ?token  (its chapters, replay-timeline.ts edits them)
//   GET /media/classes/:classId/live/master.m3u8            ?token
//   GET /media/classes/:classId/live/:rung/index.m3u8       ?token[&_HLS_msn&_HLS_part]  (LL-HLS, blocking reload)
//   GET /media/classes/:classId/live/:rung/:file            ?token
//   GET /media/recordings/:recordingId/master.m3u8          ?token
//   GET /media/recordings/:recordingId/:rung/index.m3u8     ?token  (VOD, or EVENT while recording)
//   GET /media/recordings/:recordingId/:rung/:file          ?token
//   GET /media/recordings/:recordingId/thumbnail.jpg        ?token
//   GET /media/recordings/:recordingId/download.mp4         ?token  (the replay as one MP4; Range: 206)
//   /media/lessons/:lessonId/{hls/..., captions.vtt}: an uploaded lesson's video and captions (lesson-media.ts)
//   /media/t/:token/{classes/:classId/live, recordings/:recordingId, lessons/:lessonId}/...  the same, token in the path
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import {
  ClassIdParam,
  MediaFileName,
  RecordingIdParam,
  RungName,
  type CaptionTrackView,
  type LiveStreamView,
  type ReplayView,
} from '../../contracts/media.ts';
import type { Recording } from '../../db/schema.ts';
import { MAX_CAPTION_BYTES } from '../../hls/caption-file.ts';
import { CaptionTrackQuery, type CaptionTrack, type CaptionTrackDescription } from '../../hls/caption-tracks.ts';
import { parseRangeHeader, RangeNotSatisfiable, resolveRange, type ByteRange } from '../../storage/object-store.ts';
import { DOWNLOAD_FILE } from '../../hls/run-output.ts';
import { queryParams, readBoundedBytes } from '../validate.ts';
import { canModerate, type Permissions } from '../../auth/permissions.ts';
import type { CourseCatalog } from '../../courses/course-catalog.ts';
import type { LessonProgress } from '../../courses/lesson-progress.ts';
import type { LiveHls } from '../../hls/live-hls.ts';
import type { LiveHlsRelay } from '../../hls/live-hls-relay.ts';
import { MediaDenied, type MediaAccess, type MediaAudience } from '../../hls/media-access.ts';
import type { Recordings } from '../../hls/recordings.ts';
import type { ReplayTimelines } from '../../interaction/replay-timeline.ts';
import type { MediaScope } from '../../hls/media-tokens.ts';
import { mediaUrl, PlaylistRefused, tokenQuery, type MediaResponse, type RenditionSet } from '../../hls/rendition-set.ts';
import { ApiFailure, validationFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';

const Rung = z.object({ rung: RungName });
/** LL-HLS blocking reload: answer once this media sequence number (and part) exists. Sets that do not block ignore it. */
const BlockingReload = z.object({
  _HLS_msn: z.coerce.number().int().min(0).optional(),
  _HLS_part: z.coerce.number().int().min(0).optional(),
});
const RungFile = z.object({ rung: RungName, file: MediaFileName });

export interface MediaRouteParts {
  liveHls: Pick<LiveHls, 'renditions'>;
  recordings: Pick<Recordings, 'renditions' | 'captions' | 'location' | 'byId'>;
  access: Pick<MediaAccess, 'open'>;
  timelines: Pick<ReplayTimelines, 'chapterTrack'>;
  /** With several nodes: a live class streamed by another node is fetched from there. */
  relay?: Pick<LiveHlsRelay, 'forward'> | undefined;
}

export interface MediaApiRouteParts {
  liveHls: Pick<LiveHls, 'status'>;
  /** With several nodes: the view of a class this node does not stream comes from the node that does. */
  relay?: Pick<LiveHlsRelay, 'view'> | undefined;
  recordings: Pick<Recordings, 'byId' | 'ofClass' | 'view' | 'remove' | 'captions'>;
  access: Pick<MediaAccess, 'sign'>;
  permissions: Permissions;
  courses: Pick<CourseCatalog, 'lessonsByIds'>;
  progress: Pick<LessonProgress, 'get'>;
}

export function params<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.param());
  if (!result.success) throw validationFailure(result.error);
  return result.data;
}

/** The caller's access to a recording's class, as Permissions.classRole answers it. */
type ClassAccess = NonNullable<Awaited<ReturnType<Permissions['classRole']>>>;

/**
 * The request's :recordingId and the user's access to its class: 404 for no such recording, 403 for someone
 * not let into the class, or whose role `allowed` refuses (with `forbidden` as the message).
 */
export async function recordingAccess(
  c: Context<AppEnv>,
  parts: { recordings: Pick<Recordings, 'byId'>; permissions: Pick<Permissions, 'classRole'> },
  allowed: (role: ClassAccess['role']) => boolean = () => true,
  forbidden = 'You are not allowed into this class',
): Promise<{ row: Recording; access: ClassAccess }> {
  const user = requireUser(c);
  const { recordingId } = params(c, RecordingIdParam);
  const row = await parts.recordings.byId(recordingId);
  if (!row) throw new ApiFailure(404, 'not_found', 'No such recording');
  const access = await parts.permissions.classRole(user, row.classId);
  if (!access || !allowed(access.role)) throw new ApiFailure(403, 'forbidden', access ? forbidden : 'You are not allowed into this class');
  return { row, access };
}

/** What a /media request opens: the token's scope, who must still be allowed in, and the set to ask. */
export interface MediaTarget {
  scope: MediaScope;
  audience: MediaAudience;
  renditions: () => RenditionSet | null;
  /** The answer of the node that has the set, when this one does not (a live class streamed elsewhere, its recording). */
  relay?: ((request: Request) => Promise<Response | null>) | undefined;
}

/**
 * Checks the URL's token (in the path prefix, or ?token=) for the target and that its holder may still watch.
 * Returns how the playlists it opens name their files: with ?token= on every URI only when the token came
 * that way (under a path prefix, relative URIs keep it).
 */
export async function authorize(access: Pick<MediaAccess, 'open'>, c: Context<AppEnv>, target: MediaTarget): Promise<{ query?: string }> {
  const inPath = c.req.param('token');
  const token = inPath ?? c.req.query('token');
  try {
    await access.open(token, target.scope, target.audience);
  } catch (err) {
    if (err instanceof MediaDenied) throw new ApiFailure(403, err.code, err.message);
    throw err;
  }
  return inPath ? {} : { query: tokenQuery(token!) };
}

/**
 * Answers a playlist or file; for a file, `range` (the request's Range header) is answered 206 with those
 * bytes, whether the set sent only them (a stored file) or the whole file (cut here).
 */
function send(c: Context<AppEnv>, response: MediaResponse | null, missing: string | ApiFailure, range?: ByteRange): Response {
  if (!response) throw typeof missing === 'string' ? new ApiFailure(404, 'not_found', missing) : missing;
  const headers: Record<string, string> = {
    'content-type': response.contentType,
    'cache-control': response.cacheControl,
    'access-control-allow-origin': '*',
  };
  const { body } = response;
  if (typeof body === 'string') return c.body(body, 200, headers);
  headers['accept-ranges'] = 'bytes';
  if (body instanceof Uint8Array) {
    if (!range) return c.body(new Uint8Array(body), 200, headers);
    const bytes = resolveRange(range, body.byteLength);
    if (!bytes) throw new RangeNotSatisfiable(body.byteLength);
    headers['content-range'] = `bytes ${bytes.start}-${bytes.end}/${body.byteLength}`;
    return c.body(body.slice(bytes.start, bytes.end + 1), 206, headers);
  }
  if (response.range && response.size !== undefined) {
    headers['content-range'] = `bytes ${response.range.start}-${response.range.end}/${response.size}`;
    headers['content-length'] = String(response.range.end - response.range.start + 1);
    return c.body(body, 206, headers);
  }
  if (response.size !== undefined) headers['content-length'] = String(response.size);
  return c.body(body, 200, headers);
}

/** A file answer, or 416 (with the file's size) for a range past its end. */
async function sendFile(
  c: Context<AppEnv>,
  read: (range: ByteRange | undefined) => Promise<MediaResponse | null>,
  missing: string,
  elsewhere?: () => Promise<Response | null>,
): Promise<Response> {
  const range = parseRangeHeader(c.req.header('range'));
  try {
    const response = await read(range);
    return (!response && (await elsewhere?.())) || send(c, response, missing, range);
  } catch (err) {
    if (!(err instanceof RangeNotSatisfiable)) throw err;
    return c.json({ error: { code: 'range_not_satisfiable', message: err.message } }, 416, { 'content-range': `bytes */${err.size}` });
  }
}

/**
 * The three routes every rendition set answers (master, media playlist, file), for the target `find` makes of
 * the request's parameters; `notThere` answers while the target has no media.
 */
export function renditionRoutes(
  access: Pick<MediaAccess, 'open'>,
  find: (c: Context<AppEnv>) => Promise<MediaTarget>,
  notThere: { code: string; message: string },
) {
  const missing = () => new ApiFailure(404, notThere.code, notThere.message);
  /**
   * The answer of the node that has what this one does not (a live class, or the recording it writes, streamed
   * by another node); null when no other node has it either.
   */
  const elsewhere = async (c: Context<AppEnv>, target: MediaTarget): Promise<Response | null> => (await target.relay?.(c.req.raw)) ?? null;
  /** The target's set here, or the answer of the node that has it. */
  const setOf = async (c: Context<AppEnv>, target: MediaTarget): Promise<RenditionSet | Response> => {
    const set = target.renditions();
    if (set) return set;
    const relayed = await elsewhere(c, target);
    if (relayed) return relayed;
    throw missing();
  };
  return new Hono<AppEnv>()
    .get('/master.m3u8', async (c) => {
      const target = await find(c);
      const links = await authorize(access, c, target);
      const set = await setOf(c, target);
      if (set instanceof Response) return set;
      const master = await set.masterPlaylist(links);
      return (!master && (await elsewhere(c, target))) || send(c, master, missing());
    })
    .get('/:rung/index.m3u8', async (c) => {
      const { rung } = params(c, Rung);
      const reload = BlockingReload.safeParse(c.req.query());
      if (!reload.success) throw validationFailure(reload.error);
      const target = await find(c);
      const links = await authorize(access, c, target);
      const { _HLS_msn: msn, _HLS_part: part } = reload.data;
      const request = {
        ...links,
        signal: c.req.raw.signal,
        ...(msn !== undefined ? { msn } : {}),
        ...(part !== undefined ? { part } : {}),
      };
      const set = await setOf(c, target);
      if (set instanceof Response) return set;
      let playlist: MediaResponse | null;
      try {
        playlist = await set.mediaPlaylist(rung, request);
      } catch (err) {
        if (err instanceof PlaylistRefused) throw new ApiFailure(err.status, err.code, err.message);
        throw err;
      }
      return (!playlist && (await elsewhere(c, target))) || send(c, playlist, 'No such rendition');
    })
    .get('/:rung/:file', async (c) => {
      const { rung, file } = params(c, RungFile);
      const target = await find(c);
      await authorize(access, c, target);
      const set = await setOf(c, target);
      if (set instanceof Response) return set;
      return sendFile(
        c,
        (range) => set.file(rung, file, range),
        'No such media file',
        () => elsewhere(c, target),
      );
    });
}

export const mediaRoutes = ({ liveHls, recordings, access, timelines, relay }: MediaRouteParts) => {
  const liveClass = renditionRoutes(
    access,
    async (c) => {
      const { classId } = params(c, ClassIdParam);
      return {
        scope: { kind: 'class', id: classId },
        audience: { kind: 'class', classId },
        renditions: () => liveHls.renditions(classId),
        relay: relay && ((request: Request) => relay.forward(classId, request)),
      };
    },
    { code: 'not_live', message: 'The class is not streaming right now' },
  );
  const recordingTarget = async (c: Context<AppEnv>): Promise<MediaTarget> => {
    const { recordingId } = params(c, RecordingIdParam);
    const found = await recordings.renditions(recordingId);
    if (!found) throw new ApiFailure(404, 'not_found', 'No such recording');
    return {
      scope: { kind: 'recording', id: recordingId },
      audience: { kind: 'class', classId: found.classId },
      renditions: () => found.renditions,
      // While its class is live the recording is written on the class's origin node: asked there for what this node lacks.
      relay: relay && ((request: Request) => relay.forward(found.classId, request)),
    };
  };
  const recording = new Hono<AppEnv>()
    .get('/captions.vtt', async (c) => {
      const target = await recordingTarget(c);
      await authorize(access, c, target);
      const track = await recordings.captions(target.scope.id);
      return send(c, track ? await track.file() : null, 'This replay has no captions');
    })
    .get('/chapters.vtt', async (c) => {
      const target = await recordingTarget(c);
      await authorize(access, c, target);
      const where = await recordings.location(target.scope.id);
      const track = where && (await timelines.chapterTrack({ id: target.scope.id, classId: where.classId }));
      // Chapters change on the replay page: players re-fetch the track after a few seconds at most.
      const response = track ? { body: track, contentType: 'text/vtt; charset=utf-8', cacheControl: 'private, max-age=10' } : null;
      return send(c, response, 'This replay has no chapters');
    })
    .get(`/${DOWNLOAD_FILE}`, async (c) => {
      const target = await recordingTarget(c);
      await authorize(access, c, target);
      const row = await recordings.byId(target.scope.id);
      const notReady = 'The download of this replay is not ready';
      if (row?.status !== 'ready' || row.downloadStatus !== 'ready') throw new ApiFailure(404, 'not_ready', notReady);
      return sendFile(c, (range) => target.renditions()!.file(null, DOWNLOAD_FILE, range), notReady);
    })
    .get('/thumbnail.jpg', async (c) => {
      const target = await recordingTarget(c);
      await authorize(access, c, target);
      return sendFile(c, (range) => target.renditions()!.file(null, 'thumbnail.jpg', range), 'No such media file');
    })
    .route('/', renditionRoutes(access, recordingTarget, { code: 'not_found', message: 'The recording has no media yet' }));
  return new Hono<AppEnv>()
    .route('/classes/:classId/live', liveClass)
    .route('/recordings/:recordingId', recording)
    .route('/t/:token/classes/:classId/live', liveClass)
    .route('/t/:token/recordings/:recordingId', recording);
};

export const mediaApiRoutes = (parts: MediaApiRouteParts) =>
  new Hono<AppEnv>()
    .get('/classes/:classId/live', async (c) => {
      const user = requireUser(c);
      const { classId } = params(c, ClassIdParam);
      const access = await parts.permissions.classRole(user, classId);
      if (!access) throw new ApiFailure(403, 'forbidden', 'You are not allowed into this class');
      // Streamed here, or (with several nodes) by the class's origin, which tells how far its stream got (and
      // signs the token: any node verifies it); this node then relays the stream's requests there.
      const status = parts.liveHls.status(classId);
      const relayed = status === 'offline' ? await parts.relay?.view(classId, c.req.raw) : null;
      if (relayed) return relayed;
      const { token, expiresAt } = parts.access.sign({ kind: 'class', id: classId }, user.id);
      const view: LiveStreamView = {
        classId,
        playlistUrl: status === 'live' ? mediaUrl(token, `classes/${classId}/live/master.m3u8`) : null,
        token,
        tokenExpiresAt: expiresAt.toISOString(),
        status,
      };
      return c.json(view);
    })
    .get('/classes/:classId/recordings', async (c) => {
      const user = requireUser(c);
      const { classId } = params(c, ClassIdParam);
      const access = await parts.permissions.classRole(user, classId);
      if (!access) throw new ApiFailure(403, 'forbidden', 'You are not allowed into this class');
      const rows = await parts.recordings.ofClass(classId);
      return c.json({ recordings: rows.map((r) => parts.recordings.view(r, user.id, access.liveClass.title)) });
    })
    .get('/recordings/:recordingId', async (c) => {
      const user = requireUser(c);
      const { row, access } = await recordingAccess(c, parts);
      let lesson: ReplayView['lesson'] = null;
      let resumeAtSeconds = 0;
      let completed = false;
      if (row.lessonId) {
        const [l] = await parts.courses.lessonsByIds([row.lessonId]);
        if (l) {
          lesson = { id: l.id, title: l.title, courseId: l.courseId };
          const progress = await parts.progress.get(user.id, l.id);
          // A finished replay starts again from the beginning rather than at its last seconds.
          resumeAtSeconds = progress && !progress.completed ? progress.positionSeconds : 0;
          completed = progress?.completed ?? false;
        }
      }
      const track = (await (await parts.recordings.captions(row.id))?.describe()) ?? null;
      const view: ReplayView = {
        recording: parts.recordings.view(row, user.id, access.liveClass.title),
        captions:
          track &&
          captionTrackView(
            `/media/recordings/${row.id}/captions.vtt`,
            track,
            parts.access.sign({ kind: 'recording', id: row.id }, user.id).token,
          ),
        lesson,
        resumeAtSeconds,
        completed,
        canEdit: canModerate(access.role),
      };
      return c.json(view);
    })
    .delete('/recordings/:recordingId', async (c) => {
      const { row } = await recordingAccess(c, parts, canModerate, 'Only the teacher or an admin may delete this replay');
      await parts.recordings.remove(row.id);
      return c.json({ ok: true });
    })
    .put('/recordings/:recordingId/captions', async (c) => {
      const { row, captions } = await editableRecording(c, parts);
      const query = queryParams(c, CaptionTrackQuery);
      const track = await captions.write(await readBoundedBytes(c, MAX_CAPTION_BYTES), query);
      const { token } = parts.access.sign({ kind: 'recording', id: row.id }, requireUser(c).id);
      return c.json({ captions: captionTrackView(`/media/recordings/${row.id}/captions.vtt`, track, token) });
    })
    .delete('/recordings/:recordingId/captions', async (c) => {
      const { captions } = await editableRecording(c, parts);
      await captions.remove();
      return c.json({ captions: null });
    });

/** The recording of the request, for its class's teacher or an admin, with its caption track. */
async function editableRecording(c: Context<AppEnv>, parts: MediaApiRouteParts): Promise<{ row: Recording; captions: CaptionTrack }> {
  const { row } = await recordingAccess(c, parts, canModerate, 'Only the teacher or an admin may change this replay');
  const captions = await parts.recordings.captions(row.id);
  if (!captions) throw new ApiFailure(404, 'not_found', 'No such recording');
  return { row, captions };
}

/** A caption track as the API shows it, its URL signed with `token` (in the query: `base` is the file's /media path). */
export function captionTrackView(base: string, track: CaptionTrackDescription, token: string): CaptionTrackView {
  return { url: `${base}?${tokenQuery(token)}`, ...track };
}

/** A caption track as the API shows it, the token in the URL's path prefix (`file`: its path under /media/t/<token>/). */
export function pathTokenCaptionTrackView(file: string, track: CaptionTrackDescription, token: string): CaptionTrackView {
  return { url: mediaUrl(token, file), ...track };
}
