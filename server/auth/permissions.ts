// Who may do what with a live class. Every check runs on the server; the UI only mirrors it.
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { classRestrictions, courses, enrollments, lessons, liveClasses, type Course, type Lesson, type LiveClass } from '../db/schema.ts';
import type { SessionUser } from './session-store.ts';
import type { ClassRole } from '../contracts/live-class.ts';
import type { CourseRole } from '../contracts/courses.ts';

/** Whether the user may enter a class, and if not, why (so each caller can say it in its own words). */
export type ClassEntry =
  | { ok: true; role: ClassRole; liveClass: LiveClass }
  | { ok: false; reason: 'no_class' | 'not_enrolled' | 'removed'; liveClass: LiveClass | null };

export class Permissions {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * The user's role in the class, or null when they may not enter it: no such class, not enrolled, or a
   * student the class's teacher removed (who loses the socket, the broadcast and the replays alike).
   */
  async classRole(user: SessionUser, classId: string): Promise<{ role: ClassRole; liveClass: LiveClass } | null> {
    const entry = await this.classEntry(user, classId);
    return entry.ok ? { role: entry.role, liveClass: entry.liveClass } : null;
  }

  async classEntry(user: SessionUser, classId: string): Promise<ClassEntry> {
    const rows = await this.#db.select().from(liveClasses).where(eq(liveClasses.id, classId)).limit(1);
    const liveClass = rows[0];
    if (!liveClass) return { ok: false, reason: 'no_class', liveClass: null };
    if (liveClass.teacherId === user.id) return { ok: true, role: 'teacher', liveClass };
    if (user.role === 'admin') return { ok: true, role: 'admin', liveClass };
    if (!(await this.isEnrolled(user.id, liveClass.courseId))) return { ok: false, reason: 'not_enrolled', liveClass };
    const removed = await this.#db
      .select({ userId: classRestrictions.userId })
      .from(classRestrictions)
      .where(and(eq(classRestrictions.classId, classId), eq(classRestrictions.userId, user.id), eq(classRestrictions.kind, 'removed')))
      .limit(1);
    if (removed.length > 0) return { ok: false, reason: 'removed', liveClass };
    return { ok: true, role: 'student', liveClass };
  }

  /**
   * The user's role in a course, or null when they may not even see it (no such course, or a draft that is
   * not theirs). Anonymous users are visitors of published courses.
   */
  async courseRole(user: SessionUser | null, courseId: string): Promise<{ role: CourseRole; course: Course } | null> {
    const rows = await this.#db.select().from(courses).where(eq(courses.id, courseId)).limit(1);
    const course = rows[0];
    if (!course) return null;
    return this.#roleIn(user, course);
  }

  /** Role in the course a lesson belongs to; only teacher, admin and enrolled students may watch it. */
  async lessonRole(user: SessionUser | null, lessonId: string): Promise<{ role: CourseRole; course: Course; lesson: Lesson } | null> {
    const rows = await this.#db
      .select({ lesson: lessons, course: courses })
      .from(lessons)
      .innerJoin(courses, eq(courses.id, lessons.courseId))
      .where(eq(lessons.id, lessonId))
      .limit(1);
    const row = rows[0];
    if (!row) return null;
    const access = await this.#roleIn(user, row.course);
    return access ? { ...access, lesson: row.lesson } : null;
  }

  async #roleIn(user: SessionUser | null, course: Course): Promise<{ role: CourseRole; course: Course } | null> {
    if (user && course.teacherId === user.id) return { role: 'teacher', course };
    if (user?.role === 'admin') return { role: 'admin', course };
    if (!course.published) return null;
    if (user && (await this.isEnrolled(user.id, course.id))) return { role: 'student', course };
    return { role: 'visitor', course };
  }

  async isEnrolled(userId: string, courseId: string): Promise<boolean> {
    const rows = await this.#db
      .select({ userId: enrollments.userId })
      .from(enrollments)
      .where(and(eq(enrollments.userId, userId), eq(enrollments.courseId, courseId)))
      .limit(1);
    return rows.length > 0;
  }
}

/** Course teachers and admins edit a course, its lessons and its classes, and see its analytics. */
export function canEditCourse(role: CourseRole): boolean {
  return role === 'teacher' || role === 'admin';
}

/** Lessons, live classes and replays are for the teacher, admins and enrolled students. */
export function canWatchCourse(role: CourseRole): boolean {
  return role !== 'visitor';
}

/** Teachers and admins moderate a class; students take part. */
export function canModerate(role: ClassRole): boolean {
  return role === 'teacher' || role === 'admin';
}
