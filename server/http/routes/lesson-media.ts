// GET /media/lessons/:lessonId/hls/...?token=: an uploaded lesson's HLS files, for holders of a signed token
// (issued by GET /api/lessons/:lessonId[/video] to the teacher, admins and enrolled students) who may still
// watch the lesson: a link outlives neither its holder's enrollment nor the holder's access.
import fs from 'node:fs';
import { Hono } from 'hono';
import { z } from 'zod';
import { LessonMedia } from '../../uploads/lesson-media.ts';
import type { AppEnv } from '../session.ts';

const LessonId = z.uuid();

export const lessonMediaRoutes = (media: LessonMedia) =>
  new Hono<AppEnv>().get('/:lessonId/*', async (c) => {
    const lessonId = c.req.param('lessonId');
    const token = c.req.query('token');
    if (!LessonId.safeParse(lessonId).success) return c.text('Not found', 404);
    const holder = media.verify(lessonId, token);
    if (!holder) return c.text('This link expired or is not yours; reload the lesson page', 403);
    if (!(await media.mayWatch(holder.userId, lessonId))) return c.text('You may no longer watch this lesson', 403);
    const file = c.req.path.slice(`/media/lessons/${lessonId}/`.length);
    const full = media.resolve(lessonId, file);
    // One read, no stat before it: a file that is not there (yet, or any more) is a 404 like a bad name.
    const data = full ? await fs.promises.readFile(full).catch(() => null) : null;
    if (!data) return c.text('Not found', 404);
    if (file.endsWith('.m3u8')) {
      const text = LessonMedia.tokenisePlaylist(data.toString('utf8'), token!);
      return c.body(text, 200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'private, max-age=5' });
    }
    // Segments never change once written: cacheable for as long as the token lives.
    return c.body(data, 200, { 'content-type': 'video/mp2t', 'cache-control': 'private, max-age=600' });
  });
