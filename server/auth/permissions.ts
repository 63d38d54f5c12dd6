// Who may do what with a live class. Every check runs on the server; the UI only mirrors it.
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { enrollments, liveClasses, type LiveClass } from '../db/schema.ts';
import type { SessionUser } from './session-store.ts';

export type ClassRole = 'teacher' | 'admin' | 'student';

export class Permissions {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The user's role in the class, or null when they may not enter it (not enrolled, or no such class). */
  async classRole(user: SessionUser, classId: string): Promise<{ role: ClassRole; liveClass: LiveClass } | null> {
    const rows = await this.#db.select().from(liveClasses).where(eq(liveClasses.id, classId)).limit(1);
    const liveClass = rows[0];
    if (!liveClass) return null;
    if (liveClass.teacherId === user.id) return { role: 'teacher', liveClass };
    if (user.role === 'admin') return { role: 'admin', liveClass };
    if (await this.isEnrolled(user.id, liveClass.courseId)) return { role: 'student', liveClass };
    return null;
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

/** Teachers and admins moderate a class; students take part. */
export function canModerate(role: ClassRole): boolean {
  return role === 'teacher' || role === 'admin';
}
