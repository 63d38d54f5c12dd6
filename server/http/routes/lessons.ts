// /api/lessons/:lessonId: one lesson to watch, and the teacher's edits.
import { Hono } from 'hono';
import { LessonUpdateBody } from '../../contracts/courses.ts';
import { canEditCourse, canWatchCourse, type Permissions } from '../../auth/permissions.ts';
import { lessonSummary, type CourseCatalog } from '../../courses/course-catalog.ts';
import type { LessonProgress } from '../../courses/lesson-progress.ts';
import type { Recordings } from '../../hls/recordings.ts';
import type { LessonVideos } from '../../uploads/lesson-videos.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody, queryParams, readBoundedBytes } from '../validate.ts';
import { MAX_CAPTION_BYTES } from '../../hls/caption-file.ts';
import { CaptionTrackQuery } from '../../hls/caption-tracks.ts';
import type { MediaAccess } from '../../hls/media-access.ts';
import { pathTokenCaptionTrackView } from './media.ts';
import { lessonAccess } from './access.ts';

const editOnly = 'Only the course teacher or an admin may change this lesson';

export interface LessonRouteParts {
  permissions: Permissions;
  courses: CourseCatalog;
  progress: LessonProgress;
  /** The lesson's uploaded video (and its transcode) */
  videos: Pick<LessonVideos, 'view' | 'forgetLessons' | 'captions'>;
  /** Signs the caption track's URL for the viewer. */
  access: Pick<MediaAccess, 'sign'>;
  /** The replay of the lesson's live class. */
  recordings: Pick<Recordings, 'lessonReplay'>;
}

export const lessonRoutes = ({ permissions, courses, progress, videos, recordings, access }: LessonRouteParts) =>
  new Hono<AppEnv>()
    .get('/:lessonId', async (c) => {
      const user = requireUser(c);
      const { role, course, lesson } = await lessonAccess(permissions, c, canWatchCourse, 'Enroll in the course to watch its lessons');
      const editor = canEditCourse(role);
      const [lessons, position, video, replay, track] = await Promise.all([
        courses.lessons(course.id),
        progress.get(user.id, lesson.id),
        // The upload's details (file name, ffmpeg's error) are the editors' business; students see the state.
        videos.view(lesson, user.id, { editor }),
        // The recording of the lesson's live class: what the lesson plays when no video was uploaded.
        recordings.lessonReplay(lesson.id, user.id),
        videos.captions(lesson.id).describe(),
      ]);
      const captionToken = () => access.sign({ kind: 'lesson', id: lesson.id }, user.id).token;
      const index = lessons.findIndex((l) => l.id === lesson.id);
      return c.json({
        lesson: lessonSummary(lesson, { editor }),
        course: { id: course.id, title: course.title, teacherId: course.teacherId },
        role,
        progress: position,
        video,
        captions: track && pathTokenCaptionTrackView(`lessons/${lesson.id}/captions.vtt`, track, captionToken()),
        replay,
        previousLessonId: lessons[index - 1]?.id ?? null,
        nextLessonId: lessons[index + 1]?.id ?? null,
      });
    })
    .patch('/:lessonId', async (c) => {
      const { lesson } = await lessonAccess(permissions, c, canEditCourse, editOnly);
      const body = await jsonBody(c, LessonUpdateBody);
      return c.json({ lesson: lessonSummary(await courses.updateLesson(lesson.id, body), { editor: true }) });
    })
    // The lesson video's caption track (PUT body: the .vtt or .srt file; ?name=&language=&label=).
    .put('/:lessonId/captions', async (c) => {
      const { lesson } = await lessonAccess(permissions, c, canEditCourse, editOnly);
      const query = queryParams(c, CaptionTrackQuery);
      const track = await videos.captions(lesson.id).write(await readBoundedBytes(c, MAX_CAPTION_BYTES), query);
      const { token } = access.sign({ kind: 'lesson', id: lesson.id }, requireUser(c).id);
      return c.json({ captions: pathTokenCaptionTrackView(`lessons/${lesson.id}/captions.vtt`, track, token) });
    })
    .delete('/:lessonId/captions', async (c) => {
      const { lesson } = await lessonAccess(permissions, c, canEditCourse, editOnly);
      await videos.captions(lesson.id).remove();
      return c.json({ captions: null });
    })
    .delete('/:lessonId', async (c) => {
      const { lesson } = await lessonAccess(permissions, c, canEditCourse, editOnly);
      await videos.forgetLessons([lesson.id]);
      await courses.removeLesson(lesson.id);
      return c.json({ ok: true });
    });
