// Media: signed URLs (under /api/media, session-authenticated) and the HLS files they open (under /media,
// token-authenticated so a CDN can sit in front). Playlists are generated per request with the token on
// every URI; segments are immutable files.
//
//   GET /api/media/classes/:classId/live          -> LiveStreamView (signed master URL of the live class)
//   GET /api/media/classes/:classId/recordings    -> RecordingView[]
//   GET /api/media/recordings/:recordingId        -> ReplayView (recording, lesson, resume position)
//   GET /media/classes/:classId/live/master.m3u8            ?token
//   GET /media/classes/:classId/live/:rung/index.m3u8       ?token  (sliding window)
//   GET /media/classes/:classId/live/:rung/:segment         ?token
//   GET /media/recordings/:recordingId/master.m3u8          ?token
//   GET /media/recordings/:recordingId/:rung/index.m3u8     ?token  (VOD, or EVENT while recording)
//   GET /media/recordings/:recordingId/:rung/:segment       ?token
//   GET /media/recordings/:recordingId/thumbnail.jpg        ?token
import fs from 'node:fs/promises';
import path from 'node:path';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { ClassIdParam, RecordingIdParam, RungName, SegmentFile, type LiveStreamView, type ReplayView } from '../../contracts/media.ts';
import type { Permissions } from '../../auth/permissions.ts';
import type { CourseCatalog } from '../../courses/course-catalog.ts';
import type { LessonProgress } from '../../courses/lesson-progress.ts';
import type { Recording } from '../../db/schema.ts';
import type { HlsService } from '../../hls/hls-service.ts';
import { LIVE_WINDOW_SEGMENTS, writeMasterPlaylist, type Rendition } from '../../hls/ladder.ts';
import { composeRuns, renderMediaPlaylist } from '../../hls/playlist.ts';
import type { MediaScope } from '../../hls/media-tokens.ts';
import { readRecordingManifest, recordingDir, THUMBNAIL_FILE, VOD_PLAYLIST_FILE } from '../../hls/recording-files.ts';
import { ApiFailure, validationFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const LIVE_PLAYLIST_CACHE = 'private, max-age=1';
const VOD_PLAYLIST_CACHE = 'private, max-age=300';
const SEGMENT_CACHE = 'public, max-age=31536000, immutable';

export interface MediaRouteParts {
  hls: HlsService;
  /** Where recordings are written (LECTERN_DATA_DIR). */
  dataDir: string;
}

export interface MediaApiRouteParts {
  hls: HlsService;
  permissions: Permissions;
  courses: Pick<CourseCatalog, 'lessonsByIds'>;
  progress: Pick<LessonProgress, 'get'>;
}

function params<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.param());
  if (!result.success) throw validationFailure(result.error);
  return result.data;
}

/** Checks the URL's token for `scope` and that its holder may still watch `classId`; returns the token. */
async function authorize({ hls }: { hls: HlsService }, c: Context<AppEnv>, scope: MediaScope, classId: string): Promise<string> {
  const token = c.req.query('token');
  const check = hls.tokens.verify(token, scope);
  if (!check.ok) {
    const message = check.reason === 'expired' ? 'This media link has expired; reload the page' : 'This media link is not valid';
    throw new ApiFailure(403, check.reason === 'expired' ? 'token_expired' : 'token_invalid', message);
  }
  if (!(await hls.mayWatchClass(check.claims.userId, classId))) {
    throw new ApiFailure(403, 'forbidden', 'You are not allowed into this class');
  }
  return token!;
}

function playlist(c: Context<AppEnv>, body: string, cache: string): Response {
  return c.body(body, 200, { 'content-type': PLAYLIST_TYPE, 'cache-control': cache, 'access-control-allow-origin': '*' });
}

async function fileResponse(c: Context<AppEnv>, file: string, contentType: string, cache: string): Promise<Response> {
  const data = await fs.readFile(file).catch(() => null);
  if (!data) throw new ApiFailure(404, 'not_found', 'No such media file');
  return c.body(new Uint8Array(data), 200, { 'content-type': contentType, 'cache-control': cache, 'access-control-allow-origin': '*' });
}

const masterFor = (ladder: readonly Rendition[], token: string) =>
  writeMasterPlaylist(ladder, (r) => `${r.name}/${VOD_PLAYLIST_FILE}?token=${encodeURIComponent(token)}`);

function liveBridge({ hls }: MediaRouteParts, classId: string) {
  const live = hls.live(classId);
  if (!live?.bridge.ladder) throw new ApiFailure(404, 'not_live', 'The class is not streaming right now');
  return live;
}

function rungOf(ladder: readonly Rendition[] | null | undefined, name: string): Rendition {
  const rung = ladder?.find((r) => r.name === name);
  if (!rung) throw new ApiFailure(404, 'not_found', 'No such rendition');
  return rung;
}

async function recordingFor({ hls }: { hls: HlsService }, recordingId: string): Promise<Recording> {
  const row = await hls.recording(recordingId);
  if (!row) throw new ApiFailure(404, 'not_found', 'No such recording');
  return row;
}

/** The recording's class, for the files that need only the access check (segments, the thumbnail). */
async function recordingClass({ hls }: MediaRouteParts, recordingId: string): Promise<string> {
  const classId = await hls.classOfRecording(recordingId);
  if (!classId) throw new ApiFailure(404, 'not_found', 'No such recording');
  return classId;
}

export const mediaRoutes = (parts: MediaRouteParts) =>
  new Hono<AppEnv>()
    .get('/classes/:classId/live/master.m3u8', async (c) => {
      const { classId } = params(c, ClassIdParam);
      const token = await authorize(parts, c, { kind: 'class', id: classId }, classId);
      return playlist(c, masterFor(liveBridge(parts, classId).bridge.ladder!, token), LIVE_PLAYLIST_CACHE);
    })
    .get('/classes/:classId/live/:rung/index.m3u8', async (c) => {
      const { classId, rung } = params(c, ClassIdParam.extend({ rung: RungName }));
      const token = await authorize(parts, c, { kind: 'class', id: classId }, classId);
      const { bridge } = liveBridge(parts, classId);
      rungOf(bridge.ladder, rung);
      const segments = await composeRuns(path.join(bridge.outDir, rung), bridge.runIds);
      const body = renderMediaPlaylist(segments, {
        type: 'live',
        window: LIVE_WINDOW_SEGMENTS,
        uriSuffix: `?token=${encodeURIComponent(token)}`,
      });
      return playlist(c, body, LIVE_PLAYLIST_CACHE);
    })
    .get('/classes/:classId/live/:rung/:segment', async (c) => {
      const { classId, rung, segment } = params(c, ClassIdParam.extend({ rung: RungName, segment: SegmentFile }));
      await authorize(parts, c, { kind: 'class', id: classId }, classId);
      const { bridge } = liveBridge(parts, classId);
      rungOf(bridge.ladder, rung);
      return fileResponse(c, path.join(bridge.outDir, rung, segment), 'video/mp2t', SEGMENT_CACHE);
    })
    .get('/recordings/:recordingId/master.m3u8', async (c) => {
      const { recordingId } = params(c, RecordingIdParam);
      const row = await recordingFor(parts, recordingId);
      const token = await authorize(parts, c, { kind: 'recording', id: recordingId }, row.classId);
      const manifest = await readRecordingManifest(recordingDir(parts.dataDir, recordingId));
      if (!manifest?.ladder.length) throw new ApiFailure(404, 'not_found', 'The recording has no media yet');
      return playlist(
        c,
        masterFor(manifest.ladder as Rendition[], token),
        row.status === 'ready' ? VOD_PLAYLIST_CACHE : LIVE_PLAYLIST_CACHE,
      );
    })
    .get('/recordings/:recordingId/thumbnail.jpg', async (c) => {
      const { recordingId } = params(c, RecordingIdParam);
      await authorize(parts, c, { kind: 'recording', id: recordingId }, await recordingClass(parts, recordingId));
      return fileResponse(c, path.join(recordingDir(parts.dataDir, recordingId), THUMBNAIL_FILE), 'image/jpeg', 'private, max-age=3600');
    })
    .get('/recordings/:recordingId/:rung/index.m3u8', async (c) => {
      const { recordingId, rung } = params(c, RecordingIdParam.extend({ rung: RungName }));
      const row = await recordingFor(parts, recordingId);
      const token = await authorize(parts, c, { kind: 'recording', id: recordingId }, row.classId);
      const dir = recordingDir(parts.dataDir, recordingId);
      const manifest = await readRecordingManifest(dir);
      rungOf(manifest?.ladder as Rendition[] | undefined, rung);
      // Ready: the finalised VOD playlist. Still recording: everything so far, as an EVENT playlist.
      const segments = await composeRuns(path.join(dir, rung), manifest!.runIds);
      const body = renderMediaPlaylist(segments, {
        type: row.status === 'ready' ? 'vod' : 'event',
        uriSuffix: `?token=${encodeURIComponent(token)}`,
      });
      return playlist(c, body, row.status === 'ready' ? VOD_PLAYLIST_CACHE : LIVE_PLAYLIST_CACHE);
    })
    .get('/recordings/:recordingId/:rung/:segment', async (c) => {
      const { recordingId, rung, segment } = params(c, RecordingIdParam.extend({ rung: RungName, segment: SegmentFile }));
      await authorize(parts, c, { kind: 'recording', id: recordingId }, await recordingClass(parts, recordingId));
      return fileResponse(c, path.join(recordingDir(parts.dataDir, recordingId), rung, segment), 'video/mp2t', SEGMENT_CACHE);
    });

export const mediaApiRoutes = (parts: MediaApiRouteParts) =>
  new Hono<AppEnv>()
    .get('/classes/:classId/live', async (c) => {
      const user = requireUser(c);
      const { classId } = params(c, ClassIdParam);
      const access = await parts.permissions.classRole(user, classId);
      if (!access) throw new ApiFailure(403, 'forbidden', 'You are not allowed into this class');
      const { token, expiresAt } = parts.hls.sign({ kind: 'class', id: classId }, user.id);
      const live = parts.hls.live(classId);
      const streaming = !!live?.bridge.ladder;
      const view: LiveStreamView = {
        classId,
        playlistUrl: streaming ? `/media/classes/${classId}/live/master.m3u8?token=${encodeURIComponent(token)}` : null,
        token,
        tokenExpiresAt: expiresAt.toISOString(),
        status: streaming ? 'live' : live ? 'starting' : 'offline',
      };
      return c.json(view);
    })
    .get('/classes/:classId/recordings', async (c) => {
      const user = requireUser(c);
      const { classId } = params(c, ClassIdParam);
      const access = await parts.permissions.classRole(user, classId);
      if (!access) throw new ApiFailure(403, 'forbidden', 'You are not allowed into this class');
      const rows = await parts.hls.recordingsOfClass(classId);
      return c.json({ recordings: rows.map((r) => parts.hls.recordingView(r, user.id, access.liveClass.title)) });
    })
    .get('/recordings/:recordingId', async (c) => {
      const user = requireUser(c);
      const { recordingId } = params(c, RecordingIdParam);
      const row = await recordingFor(parts, recordingId);
      const access = await parts.permissions.classRole(user, row.classId);
      if (!access) throw new ApiFailure(403, 'forbidden', 'You are not allowed into this class');
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
      const view: ReplayView = {
        recording: parts.hls.recordingView(row, user.id, access.liveClass.title),
        lesson,
        resumeAtSeconds,
        completed,
      };
      return c.json(view);
    });
