// Read models for live classes: what the home page and the API list.
import { and, asc, desc, eq, gte, or, sql } from 'drizzle-orm';
import type { ClassStatus } from '../contracts/live-class.ts';
import type { Database } from '../db/client.ts';
import { courses, liveClasses, users } from '../db/schema.ts';

export interface ClassSummary {
  id: string;
  title: string;
  status: ClassStatus;
  scheduledAt: Date;
  startedAt: Date | null;
  courseId: string;
  courseTitle: string;
  teacherId: string;
  teacherName: string;
}

export class ClassCatalog {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Classes that are live now, then the next scheduled ones (from an hour ago on, so a late start still shows). */
  async listLiveAndUpcoming(limit = 20): Promise<ClassSummary[]> {
    const since = new Date(Date.now() - 3600_000);
    return this.#db
      .select({
        id: liveClasses.id,
        title: liveClasses.title,
        status: liveClasses.status,
        scheduledAt: liveClasses.scheduledAt,
        startedAt: liveClasses.startedAt,
        courseId: courses.id,
        courseTitle: courses.title,
        teacherId: liveClasses.teacherId,
        teacherName: users.displayName,
      })
      .from(liveClasses)
      .innerJoin(courses, eq(courses.id, liveClasses.courseId))
      .innerJoin(users, eq(users.id, liveClasses.teacherId))
      .where(
        and(
          eq(courses.published, true),
          or(eq(liveClasses.status, 'live'), and(eq(liveClasses.status, 'scheduled'), gte(liveClasses.scheduledAt, since))),
        ),
      )
      .orderBy(desc(sql`${liveClasses.status} = 'live'`), asc(liveClasses.scheduledAt))
      .limit(limit);
  }
}
