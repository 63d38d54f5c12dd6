// Shared lookups for route modules: resolve :courseId / :lessonId / :classId and check the caller's role,
// answering 404 for what they may not see and 403 for what they may see but not do.
import type { Context } from 'hono';
import { z } from 'zod';
import type { Permissions } from '../../auth/permissions.ts';
import type { CourseRole } from '../../contracts/courses.ts';
import type { Course, Lesson } from '../../db/schema.ts';
import { ApiFailure } from '../errors.ts';
import type { AppEnv } from '../session.ts';

const Id = z.uuid();

export function idParam(c: Context<AppEnv>, name: string, what: string): string {
  const parsed = Id.safeParse(c.req.param(name));
  if (!parsed.success) throw new ApiFailure(404, 'not_found', `No such ${what}`);
  return parsed.data;
}

/** 403 for a logged-in user who may not do this, 401 for a visitor (who might once logged in). */
export function refuse(c: Context<AppEnv>, forbidden: string): never {
  if (c.get('user')) throw new ApiFailure(403, 'forbidden', forbidden);
  throw new ApiFailure(401, 'unauthenticated', 'Log in first');
}

export async function courseAccess(
  permissions: Permissions,
  c: Context<AppEnv>,
  allowed: (role: CourseRole) => boolean = () => true,
  forbidden = 'You may not do this with this course',
): Promise<{ role: CourseRole; course: Course }> {
  const courseId = idParam(c, 'courseId', 'course');
  const access = await permissions.courseRole(c.get('user'), courseId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such course');
  if (!allowed(access.role)) refuse(c, forbidden);
  return access;
}

export async function lessonAccess(
  permissions: Permissions,
  c: Context<AppEnv>,
  allowed: (role: CourseRole) => boolean = () => true,
  forbidden = 'You may not do this with this lesson',
): Promise<{ role: CourseRole; course: Course; lesson: Lesson }> {
  const lessonId = idParam(c, 'lessonId', 'lesson');
  const access = await permissions.lessonRole(c.get('user'), lessonId);
  if (!access) throw new ApiFailure(404, 'not_found', 'No such lesson');
  if (!allowed(access.role)) refuse(c, forbidden);
  return access;
}
