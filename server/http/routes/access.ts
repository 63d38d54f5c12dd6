// Shared lookups for route modules: resolve :courseId / :lessonId / :classId and check the caller's role,
// answering 404 for what they may not see and 403 for what they may see but not do.
import type { Context } from 'hono';
import { z } from 'zod';
import type { CourseRole } from '../../auth/permissions.ts';
import type { Course, Lesson } from '../../db/schema.ts';
import { ApiFailure } from '../errors.ts';
import type { AppEnv } from '../session.ts';

const Id = z.uuid();

function idParam(c: Context<AppEnv>, name: string, what: string): string {
  const parsed = Id.safeParse(c.req.param(name));
  if (!parsed.success) throw new ApiFailure(404, 'not_found', `No such ${what}`);
  return parsed.data;
}

export async function courseAccess(
  c: Context<AppEnv>,
  allowed: (role: CourseRole) => boolean = () => true,
  forbidden = 'You may not do this with this course',
): Promise<{ role: CourseRole; course: Course }> {
  const courseId = idParam(c, 'courseId', 'course');
  const access = await c.get('services').permissions.courseRole(c.get('user'), courseId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such course');
  if (!allowed(access.role))
    throw new ApiFailure(
      c.get('user') ? 403 : 401,
      c.get('user') ? 'forbidden' : 'unauthenticated',
      c.get('user') ? forbidden : 'Log in first',
    );
  return access;
}

export async function lessonAccess(
  c: Context<AppEnv>,
  allowed: (role: CourseRole) => boolean = () => true,
  forbidden = 'You may not do this with this lesson',
): Promise<{ role: CourseRole; course: Course; lesson: Lesson }> {
  const lessonId = idParam(c, 'lessonId', 'lesson');
  const access = await c.get('services').permissions.lessonRole(c.get('user'), lessonId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such lesson');
  if (!allowed(access.role))
    throw new ApiFailure(
      c.get('user') ? 403 : 401,
      c.get('user') ? 'forbidden' : 'unauthenticated',
      c.get('user') ? forbidden : 'Log in first',
    );
  return access;
}

export { idParam };
