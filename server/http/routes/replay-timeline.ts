// A replay's timeline and chapters (under /api/media, session-authenticated):
//   GET    /recordings/:recordingId/timeline               -> ReplayTimeline (whoever may watch the replay)
//   POST   /recordings/:recordingId/chapters               -> { chapter } (the class's teacher, admins)
//   PATCH  /recordings/:recordingId/chapters/:chapterId    -> { chapter } (rename, move)
//   DELETE /recordings/:recordingId/chapters/:chapterId    -> { ok: true }
// The chapter track itself (WebVTT) is a token-checked /media file beside the replay's (media.ts).
import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { ChapterCreate, ChapterIdParam, ChapterUpdate, type ReplayTimeline } from '../../contracts/timeline.ts';
import { canModerate, type Permissions } from '../../auth/permissions.ts';
import type { ClassRole } from '../../contracts/live-class.ts';
import type { Recording } from '../../db/schema.ts';
import type { MediaAccess } from '../../hls/media-access.ts';
import type { Recordings } from '../../hls/recordings.ts';
import { tokenQuery } from '../../hls/rendition-set.ts';
import type { ReplayTimelines } from '../../interaction/replay-timeline.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { params, recordingAccess } from './media.ts';

export interface ReplayTimelineRouteParts {
  recordings: Pick<Recordings, 'byId'>;
  timelines: Pick<ReplayTimelines, 'timeline' | 'addChapter' | 'updateChapter' | 'removeChapter'>;
  access: Pick<MediaAccess, 'sign'>;
  permissions: Pick<Permissions, 'classRole'>;
}

/** The request's recording and the user's role in its class: 404 for no such recording, 403 for someone not let in. */
async function replayOf(c: Context<AppEnv>, parts: ReplayTimelineRouteParts): Promise<{ row: Recording; role: ClassRole }> {
  const { row, access } = await recordingAccess(c, parts);
  return { row, role: access.role };
}

async function editableReplayOf(c: Context<AppEnv>, parts: ReplayTimelineRouteParts): Promise<Recording> {
  const { row, role } = await replayOf(c, parts);
  if (!canModerate(role)) throw new ApiFailure(403, 'forbidden', 'Only the teacher or an admin may change the chapters of this replay');
  return row;
}

export const replayTimelineRoutes = (parts: ReplayTimelineRouteParts) =>
  new Hono<AppEnv>()
    .get('/recordings/:recordingId/timeline', async (c) => {
      const { row, role } = await replayOf(c, parts);
      const timeline = await parts.timelines.timeline(row, { staff: canModerate(role) });
      const { token } = parts.access.sign({ kind: 'recording', id: row.id }, requireUser(c).id);
      // The chapters in the URL too: a player that cached the track fetches the new one after an edit.
      const version = timeline.chapters.map((ch) => `${ch.id}@${ch.atSeconds}:${ch.title}`).join('|');
      const body: ReplayTimeline = {
        ...timeline,
        chapterTrackUrl: timeline.chapters.length
          ? `/media/recordings/${row.id}/chapters.vtt?${tokenQuery(token)}&v=${createHash('sha256').update(version).digest('hex').slice(0, 12)}`
          : null,
      };
      return c.json(body, 200, { 'cache-control': 'private, no-store' });
    })
    .post('/recordings/:recordingId/chapters', async (c) => {
      const row = await editableReplayOf(c, parts);
      const input = await jsonBody(c, ChapterCreate);
      return c.json({ chapter: await parts.timelines.addChapter(row, requireUser(c).id, input) }, 201);
    })
    .patch('/recordings/:recordingId/chapters/:chapterId', async (c) => {
      const { chapterId } = params(c, ChapterIdParam);
      const row = await editableReplayOf(c, parts);
      const change = await jsonBody(c, ChapterUpdate);
      return c.json({ chapter: await parts.timelines.updateChapter(row, chapterId, change) });
    })
    .delete('/recordings/:recordingId/chapters/:chapterId', async (c) => {
      const { chapterId } = params(c, ChapterIdParam);
      const row = await editableReplayOf(c, parts);
      await parts.timelines.removeChapter(row, chapterId);
      return c.json({ ok: true });
    });
