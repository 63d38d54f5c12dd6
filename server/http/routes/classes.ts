// Scheduling live classes: /api/courses/:courseId/classes (create) and /api/classes/:classId (edit, cancel,
// calendar file). Joining and running a class belong to the live-class modules.
import { Hono, type Context } from 'hono';
import { ClassCreateBody, ClassUpdateBody } from '../../contracts/schedule.ts';
import { canEditCourse, canWatchCourse, type Permissions } from '../../auth/permissions.ts';
import type { CourseRole } from '../../contracts/courses.ts';
import { ScheduleError, type ClassSchedule } from '../../courses/class-schedule.ts';
import { classCalendar } from '../../courses/calendar-export.ts';
import type { CourseCatalog } from '../../courses/course-catalog.ts';
import type { LiveClass } from '../../db/schema.ts';
import type { Logger } from '../../log.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { courseAccess, idParam, refuse } from './access.ts';
import { requireVerifiedEmail } from '../verified.ts';
import type { ClassNotices } from '../../notices/class-notices.ts';

const editOnly = 'Only the course teacher or an admin may schedule its classes';

export interface ClassRouteParts {
  permissions: Permissions;
  schedule: ClassSchedule;
  courses: CourseCatalog;
  /** The public origin (LECTERN_ORIGIN) for links in calendar files; the request's own when unset. */
  origin: string | undefined;
  /** Enrolled students hear about moved and cancelled classes. */
  notices: Pick<ClassNotices, 'classChanged' | 'classCancelled'>;
  /** LECTERN_REQUIRE_VERIFIED_EMAIL: scheduling needs a confirmed address. */
  requireVerifiedEmail: boolean;
  log: Logger;
}

function scheduleFailure(err: unknown): never {
  if (err instanceof ScheduleError) throw new ApiFailure(409, err.code, err.message);
  throw err;
}

async function checkLessonOfCourse(courses: CourseCatalog, lessonId: string | null | undefined, courseId: string): Promise<void> {
  if (!lessonId) return;
  const [lesson] = await courses.lessonsByIds([lessonId]);
  if (!lesson || lesson.courseId !== courseId)
    throw new ApiFailure(400, 'invalid_input', 'lessonId: not a lesson of this course', [
      { path: 'lessonId', message: 'Not a lesson of this course' },
    ]);
}

/** The class and the caller's role in its course; 404 when they may not see the course. */
async function classAccess(
  { schedule, permissions }: ClassRouteParts,
  c: Context<AppEnv>,
  allowed: (role: CourseRole) => boolean,
  forbidden: string,
) {
  const liveClass = await schedule.get(idParam(c, 'classId', 'class'));
  if (!liveClass) throw new ApiFailure(404, 'not_found', 'No such class');
  const access = await permissions.courseRole(c.get('user'), liveClass.courseId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such class');
  const role = liveClass.teacherId === c.get('user')?.id ? 'teacher' : access.role;
  if (!allowed(role)) refuse(c, forbidden);
  return { liveClass, role, course: access.course };
}

function classJson(liveClass: LiveClass) {
  return { ...liveClass, endsAt: new Date(liveClass.scheduledAt.getTime() + liveClass.durationMinutes * 60_000).toISOString() };
}

export const courseClassRoutes = ({ permissions, schedule, courses, requireVerifiedEmail: verifiedOnly, log }: ClassRouteParts) =>
  new Hono<AppEnv>().post('/:courseId/classes', async (c) => {
    const { course } = await courseAccess(permissions, c, canEditCourse, editOnly);
    requireVerifiedEmail(requireUser(c), verifiedOnly, 'teach');
    const body = await jsonBody(c, ClassCreateBody);
    await checkLessonOfCourse(courses, body.lessonId, course.id);
    const liveClass = await schedule.create(course.id, course.teacherId, body).catch(scheduleFailure);
    log.info({ classId: liveClass.id, courseId: course.id }, 'class scheduled');
    return c.json({ liveClass: classJson(liveClass) }, 201);
  });

export const classScheduleRoutes = (parts: ClassRouteParts) =>
  new Hono<AppEnv>()
    .get('/:classId/schedule', async (c) => {
      const { liveClass, role } = await classAccess(parts, c, () => true, '');
      return c.json({ liveClass: classJson(liveClass), role });
    })
    .patch('/:classId', async (c) => {
      const { liveClass, course } = await classAccess(parts, c, canEditCourse, editOnly);
      const body = await jsonBody(c, ClassUpdateBody);
      await checkLessonOfCourse(parts.courses, body.lessonId, course.id);
      const updated = await parts.schedule.update(liveClass, body).catch(scheduleFailure);
      await parts.notices.classChanged(liveClass, updated);
      return c.json({ liveClass: classJson(updated) });
    })
    .post('/:classId/cancel', async (c) => {
      const { liveClass } = await classAccess(parts, c, canEditCourse, editOnly);
      const cancelled = await parts.schedule.cancel(liveClass).catch(scheduleFailure);
      await parts.notices.classCancelled(cancelled);
      parts.log.info({ classId: liveClass.id }, 'class cancelled');
      return c.json({ liveClass: classJson(cancelled) });
    })
    .get('/:classId/calendar.ics', async (c) => {
      requireUser(c);
      const { liveClass, course } = await classAccess(parts, c, canWatchCourse, 'Enroll in the course to add its classes to your calendar');
      const body = classCalendar(parts.origin ?? new URL(c.req.url).origin, course.title, [{ ...liveClass, courseTitle: course.title }]);
      return c.body(body, 200, {
        'content-type': 'text/calendar; charset=utf-8',
        'content-disposition': `attachment; filename="lectern-class-${liveClass.id}.ics"`,
      });
    });
