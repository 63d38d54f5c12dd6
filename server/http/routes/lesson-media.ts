// GET /media/lessons/:lessonId/hls/{master.m3u8, :rung/index.m3u8, :rung/:file}?token=: an uploaded lesson's
// HLS set, for holders of a signed token (issued by GET /api/lessons/:lessonId[/video] to the teacher, admins
// and enrolled students) who may still watch the lesson: a link outlives neither its holder's enrollment nor
// the holder's access. The same routes and answers as a class's or a recording's media (media.ts); and
// GET /media/lessons/:lessonId/captions.vtt?token=, the lesson's caption track.
import { Hono } from 'hono';
import { z } from 'zod';
import type { MediaAccess } from '../../hls/media-access.ts';
import type { LessonVideos } from '../../uploads/lesson-videos.ts';
import type { AppEnv } from '../session.ts';
import { MediaDenied } from '../../hls/media-access.ts';
import { ApiFailure } from '../errors.ts';
import { params, renditionRoutes } from './media.ts';

export interface LessonMediaRouteParts {
  access: Pick<MediaAccess, 'open'>;
  videos: Pick<LessonVideos, 'renditions' | 'captions'>;
}

const LessonIdParam = z.object({ lessonId: z.uuid({ message: 'lessonId must be a lesson id' }) });

export const lessonMediaRoutes = ({ access, videos }: LessonMediaRouteParts) =>
  new Hono<AppEnv>()
    .get('/:lessonId/captions.vtt', async (c) => {
      const { lessonId } = params(c, LessonIdParam);
      try {
        await access.open(c.req.query('token'), { kind: 'lesson', id: lessonId }, { kind: 'lesson', lessonId });
      } catch (err) {
        if (err instanceof MediaDenied) throw new ApiFailure(403, err.code, err.message);
        throw err;
      }
      const file = await videos.captions(lessonId).file();
      if (!file) throw new ApiFailure(404, 'not_found', 'This lesson has no captions');
      return c.body(new Uint8Array(file.body as Uint8Array), 200, { 'content-type': file.contentType, 'cache-control': file.cacheControl });
    })
    .route(
      '/:lessonId/hls',
      renditionRoutes(
        access,
        async (c) => {
          const { lessonId } = params(c, LessonIdParam);
          return {
            scope: { kind: 'lesson', id: lessonId },
            audience: { kind: 'lesson', lessonId },
            renditions: () => videos.renditions(lessonId),
          };
        },
        { code: 'not_found', message: 'This lesson has no video' },
      ),
    );
