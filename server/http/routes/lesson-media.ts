// An uploaded lesson's media, mounted twice (app.ts): under /media/t/:token/lessons, the token in the path as
// the API signs it (GET /api/lessons/:lessonId[/video]), and under /media/lessons with ?token=, the older form,
// still answered so pages opened before the change keep playing (nothing signs it any more).
//   GET .../:lessonId/hls/{master.m3u8, :rung/index.m3u8, :rung/:file}: the lesson's HLS set, the same routes and
//       answers as a class's or a recording's media (media.ts)
//   GET .../:lessonId/captions.vtt: the lesson's caption track
// Tokens go to the teacher, admins and enrolled students; each request checks the holder may still watch the
// lesson: a link outlives neither its holder's enrollment nor the holder's access.
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { MediaAccess } from '../../hls/media-access.ts';
import type { LessonVideos } from '../../uploads/lesson-videos.ts';
import type { AppEnv } from '../session.ts';
import { ApiFailure } from '../errors.ts';
import { authorize, params, renditionRoutes, type MediaTarget } from './media.ts';

export interface LessonMediaRouteParts {
  access: Pick<MediaAccess, 'open'>;
  videos: Pick<LessonVideos, 'renditions' | 'captions'>;
}

const LessonIdParam = z.object({ lessonId: z.uuid({ message: 'lessonId must be a lesson id' }) });

export const lessonMediaRoutes = ({ access, videos }: LessonMediaRouteParts) => {
  const lessonTarget = async (c: Context<AppEnv>): Promise<MediaTarget> => {
    const { lessonId } = params(c, LessonIdParam);
    return {
      scope: { kind: 'lesson', id: lessonId },
      audience: { kind: 'lesson', lessonId },
      renditions: () => videos.renditions(lessonId),
    };
  };
  return new Hono<AppEnv>()
    .get('/:lessonId/captions.vtt', async (c) => {
      const target = await lessonTarget(c);
      await authorize(access, c, target);
      const file = await videos.captions(target.scope.id).file();
      if (!file) throw new ApiFailure(404, 'not_found', 'This lesson has no captions');
      return c.body(new Uint8Array(file.body as Uint8Array), 200, { 'content-type': file.contentType, 'cache-control': file.cacheControl });
    })
    .route('/:lessonId/hls', renditionRoutes(access, lessonTarget, { code: 'not_found', message: 'This lesson has no video' }));
};
