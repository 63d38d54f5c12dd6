// Teacher analytics: /api/classes/:classId/analytics(.csv) and /api/courses/:courseId/analytics(.csv).
import { Hono, type Context } from 'hono';
import { canEditCourse, type Permissions } from '../../auth/permissions.ts';
import type { ClassSchedule } from '../../courses/class-schedule.ts';
import type { LearningAnalytics } from '../../courses/learning-analytics.ts';
import { toCsv } from '../../csv.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { courseAccess, idParam } from './access.ts';

const teacherOnly = 'Only the course teacher or an admin may see its analytics';

export interface AnalyticsRouteParts {
  permissions: Permissions;
  schedule: ClassSchedule;
  analytics: LearningAnalytics;
}

async function classForTeacher({ permissions, schedule }: AnalyticsRouteParts, c: Context<AppEnv>) {
  const user = requireUser(c);
  const liveClass = await schedule.get(idParam(c, 'classId', 'class'));
  if (!liveClass) throw new ApiFailure(404, 'not_found', 'No such class');
  const access = await permissions.courseRole(user, liveClass.courseId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such class');
  if (liveClass.teacherId !== user.id && !canEditCourse(access.role)) throw new ApiFailure(403, 'forbidden', teacherOnly);
  return liveClass;
}

function csv(c: Context<AppEnv>, name: string, body: string): Response {
  return c.body(body, 200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${name}"` });
}

export const classAnalyticsRoutes = (parts: AnalyticsRouteParts) =>
  new Hono<AppEnv>()
    .get('/:classId/analytics', async (c) => {
      const liveClass = await classForTeacher(parts, c);
      return c.json({ analytics: await parts.analytics.forClass(liveClass) });
    })
    .get('/:classId/analytics.csv', async (c) => {
      const liveClass = await classForTeacher(parts, c);
      const a = await parts.analytics.forClass(liveClass);
      return csv(
        c,
        `attendance-${liveClass.id}.csv`,
        toCsv(
          ['name', 'user_id', 'joined_at', 'left_at', 'watch_seconds', 'mode'],
          a.attendance.map((r) => [r.displayName, r.userId, r.joinedAt, r.leftAt, r.watchSeconds, r.mode]),
        ),
      );
    });

export const courseAnalyticsRoutes = ({ permissions, analytics }: AnalyticsRouteParts) =>
  new Hono<AppEnv>()
    .get('/:courseId/analytics', async (c) => {
      requireUser(c);
      const { course } = await courseAccess(permissions, c, canEditCourse, teacherOnly);
      return c.json({ analytics: await analytics.forCourse(course) });
    })
    .get('/:courseId/analytics.csv', async (c) => {
      requireUser(c);
      const { course } = await courseAccess(permissions, c, canEditCourse, teacherOnly);
      const a = await analytics.forCourse(course);
      return csv(
        c,
        `course-${course.id}.csv`,
        toCsv(
          ['name', 'email', 'enrolled_at', 'completed_lessons', 'total_lessons', 'percent', 'last_activity_at'],
          a.students.map((s) => [s.displayName, s.email, s.enrolledAt, s.completedLessons, a.totalLessons, s.percent, s.lastActivityAt]),
        ),
      );
    });
