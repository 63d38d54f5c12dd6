// /api/lessons/:lessonId: one lesson to watch, and the teacher's edits.
import { Hono } from 'hono';
import { LessonUpdateBody } from '../../contracts/courses.ts';
import { canEditCourse, canWatchCourse } from '../../auth/permissions.ts';
import { lessonSummary } from '../../courses/course-catalog.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { lessonAccess } from './access.ts';

const editOnly = 'Only the course teacher or an admin may change this lesson';

export const lessonRoutes = new Hono<AppEnv>()
  .get('/:lessonId', async (c) => {
    const user = requireUser(c);
    const services = c.get('services');
    const { role, course, lesson } = await lessonAccess(c, canWatchCourse, 'Enroll in the course to watch its lessons');
    const editor = canEditCourse(role);
    const [lessons, progress, video, replay] = await Promise.all([
      services.courses.lessons(course.id),
      services.progress.get(user.id, lesson.id),
      // The upload's details (file name, ffmpeg's error) are the editors' business; students see the state.
      services.transcodes.view(lesson, user.id, { editor }),
      // The recording of the lesson's live class: what the lesson plays when no video was uploaded.
      services.hls.lessonReplay(lesson.id, user.id),
    ]);
    const index = lessons.findIndex((l) => l.id === lesson.id);
    return c.json({
      lesson: lessonSummary(lesson, { editor }),
      course: { id: course.id, title: course.title, teacherId: course.teacherId },
      role,
      progress,
      video,
      replay,
      previousLessonId: lessons[index - 1]?.id ?? null,
      nextLessonId: lessons[index + 1]?.id ?? null,
    });
  })
  .patch('/:lessonId', async (c) => {
    const { lesson } = await lessonAccess(c, canEditCourse, editOnly);
    const body = await jsonBody(c, LessonUpdateBody);
    return c.json({ lesson: lessonSummary(await c.get('services').courses.updateLesson(lesson.id, body), { editor: true }) });
  })
  .delete('/:lessonId', async (c) => {
    const { lesson } = await lessonAccess(c, canEditCourse, editOnly);
    const services = c.get('services');
    await services.transcodes.forgetLessons([lesson.id]);
    await services.courses.removeLesson(lesson.id);
    return c.json({ ok: true });
  });
