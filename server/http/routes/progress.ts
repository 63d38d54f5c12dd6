// /api/lessons/:lessonId/progress: a student's position in a lesson (uploaded video or replay).
import { Hono } from 'hono';
import { ProgressBody } from '../../contracts/progress.ts';
import { canWatchCourse } from '../../auth/permissions.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { lessonAccess } from './access.ts';

export const progressRoutes = new Hono<AppEnv>()
  .put('/:lessonId/progress', async (c) => {
    const user = requireUser(c);
    const { lesson } = await lessonAccess(c, canWatchCourse, 'Enroll in the course to track your progress');
    const body = await jsonBody(c, ProgressBody);
    const progress = await c.get('services').progress.record(user.id, lesson.id, body.positionSeconds, body.durationSeconds);
    return c.json({ progress });
  })
  .get('/:lessonId/progress', async (c) => {
    const user = requireUser(c);
    const { lesson } = await lessonAccess(c, canWatchCourse, 'Enroll in the course to track your progress');
    const progress = await c.get('services').progress.get(user.id, lesson.id);
    return c.json({ progress });
  });
