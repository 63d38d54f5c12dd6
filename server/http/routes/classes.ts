// Scheduling live classes: /api/courses/:courseId/classes (create) and /api/classes/:classId (edit, cancel,
// calendar file). Joining and running a class belong to the live-class modules.
import { Hono, type Context } from 'hono';
import { ClassCreateBody, ClassUpdateBody } from '../../contracts/schedule.ts';
import { canEditCourse, canWatchCourse } from '../../auth/permissions.ts';
import { ScheduleError } from '../../courses/class-schedule.ts';
import { classCalendar } from '../../courses/calendar-export.ts';
import type { LiveClass } from '../../db/schema.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { courseAccess, idParam } from './access.ts';

const editOnly = 'Only the course teacher or an admin may schedule its classes';

function scheduleFailure(err: unknown): never {
  if (err instanceof ScheduleError) throw new ApiFailure(409, err.code, err.message);
  throw err;
}

async function checkLessonOfCourse(c: Context<AppEnv>, lessonId: string | null | undefined, courseId: string): Promise<void> {
  if (!lessonId) return;
  const [lesson] = await c.get('services').courses.lessonsByIds([lessonId]);
  if (!lesson || lesson.courseId !== courseId)
    throw new ApiFailure(400, 'invalid_input', 'lessonId: not a lesson of this course', [
      { path: 'lessonId', message: 'Not a lesson of this course' },
    ]);
}

/** The class and the caller's role in its course; 404 when they may not see the course. */
async function classAccess(c: Context<AppEnv>, allowed: (role: 'teacher' | 'admin' | 'student' | 'visitor') => boolean, forbidden: string) {
  const services = c.get('services');
  const liveClass = await services.schedule.get(idParam(c, 'classId', 'class'));
  if (!liveClass) throw new ApiFailure(404, 'not_found', 'No such class');
  const access = await services.permissions.courseRole(c.get('user'), liveClass.courseId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such class');
  const role = liveClass.teacherId === c.get('user')?.id ? 'teacher' : access.role;
  if (!allowed(role))
    throw new ApiFailure(
      c.get('user') ? 403 : 401,
      c.get('user') ? 'forbidden' : 'unauthenticated',
      c.get('user') ? forbidden : 'Log in first',
    );
  return { liveClass, role, course: access.course };
}

function classJson(liveClass: LiveClass) {
  return { ...liveClass, endsAt: new Date(liveClass.scheduledAt.getTime() + liveClass.durationMinutes * 60_000).toISOString() };
}

export const courseClassRoutes = new Hono<AppEnv>().post('/:courseId/classes', async (c) => {
  const { course } = await courseAccess(c, canEditCourse, editOnly);
  const body = await jsonBody(c, ClassCreateBody);
  await checkLessonOfCourse(c, body.lessonId, course.id);
  const liveClass = await c.get('services').schedule.create(course.id, course.teacherId, body).catch(scheduleFailure);
  c.get('services').log.info({ classId: liveClass.id, courseId: course.id }, 'class scheduled');
  return c.json({ liveClass: classJson(liveClass) }, 201);
});

export const classScheduleRoutes = new Hono<AppEnv>()
  .get('/:classId/schedule', async (c) => {
    const { liveClass, role } = await classAccess(c, () => true, '');
    return c.json({ liveClass: classJson(liveClass), role });
  })
  .patch('/:classId', async (c) => {
    const { liveClass, course } = await classAccess(c, canEditCourse, editOnly);
    const body = await jsonBody(c, ClassUpdateBody);
    await checkLessonOfCourse(c, body.lessonId, course.id);
    const updated = await c.get('services').schedule.update(liveClass, body).catch(scheduleFailure);
    return c.json({ liveClass: classJson(updated) });
  })
  .post('/:classId/cancel', async (c) => {
    const { liveClass } = await classAccess(c, canEditCourse, editOnly);
    const cancelled = await c.get('services').schedule.cancel(liveClass).catch(scheduleFailure);
    c.get('services').log.info({ classId: liveClass.id }, 'class cancelled');
    return c.json({ liveClass: classJson(cancelled) });
  })
  .get('/:classId/calendar.ics', async (c) => {
    requireUser(c);
    const { liveClass, course } = await classAccess(c, canWatchCourse, 'Enroll in the course to add its classes to your calendar');
    const body = classCalendar(c.get('services').config.origin ?? new URL(c.req.url).origin, course.title, [
      { ...liveClass, courseTitle: course.title },
    ]);
    return c.body(body, 200, {
      'content-type': 'text/calendar; charset=utf-8',
      'content-disposition': `attachment; filename="lectern-class-${liveClass.id}.ics"`,
    });
  });
