// /api/lessons/:lessonId/progress: a student's position in a lesson (uploaded video or replay).
import { Hono } from 'hono';
import { ProgressBody } from '../../contracts/progress.ts';
import { canWatchCourse, type Permissions } from '../../auth/permissions.ts';
import type { LessonProgress } from '../../courses/lesson-progress.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { lessonAccess } from './access.ts';

export const progressRoutes = ({ permissions, progress }: { permissions: Permissions; progress: LessonProgress }) =>
  new Hono<AppEnv>()
    .put('/:lessonId/progress', async (c) => {
      const user = requireUser(c);
      const { lesson } = await lessonAccess(permissions, c, canWatchCourse, 'Enroll in the course to track your progress');
      const body = await jsonBody(c, ProgressBody);
      return c.json({ progress: await progress.record(user.id, lesson.id, body.positionSeconds, body.durationSeconds) });
    })
    .get('/:lessonId/progress', async (c) => {
      const user = requireUser(c);
      const { lesson } = await lessonAccess(permissions, c, canWatchCourse, 'Enroll in the course to track your progress');
      return c.json({ progress: await progress.get(user.id, lesson.id) });
    });
