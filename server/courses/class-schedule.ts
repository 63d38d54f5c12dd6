// Scheduling live classes of a course (create, edit, cancel) and everyone's "My schedule".
import { and, asc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { courses, enrollments, liveClasses, users, type LiveClass } from '../db/schema.ts';
import type { ScheduledClass } from '../contracts/schedule.ts';
import type { SessionUser } from '../auth/session-store.ts';
import { zonedWallTimeToUtc } from './time-zones.ts';
import { CodedError } from '../domain-error.ts';

export class ScheduleError extends CodedError {}

export interface ClassFields {
  title?: string | undefined;
  description?: string | undefined;
  lessonId?: string | null | undefined;
  startsAtLocal?: string | undefined;
  timeZone?: string | undefined;
  durationMinutes?: number | undefined;
}

const classColumns = {
  id: liveClasses.id,
  title: liveClasses.title,
  description: liveClasses.description,
  status: liveClasses.status,
  scheduledAt: liveClasses.scheduledAt,
  timeZone: liveClasses.timeZone,
  durationMinutes: liveClasses.durationMinutes,
  courseId: liveClasses.courseId,
  courseTitle: courses.title,
  lessonId: liveClasses.lessonId,
  teacherId: liveClasses.teacherId,
  teacherName: users.displayName,
  cancelledAt: liveClasses.cancelledAt,
  updatedAt: liveClasses.createdAt,
};

function selectClasses(db: Database, where: SQL) {
  return db
    .select(classColumns)
    .from(liveClasses)
    .innerJoin(courses, eq(courses.id, liveClasses.courseId))
    .innerJoin(users, eq(users.id, liveClasses.teacherId))
    .where(where)
    .orderBy(asc(liveClasses.scheduledAt))
    .limit(500);
}
type ClassRow = Awaited<ReturnType<typeof selectClasses>>[number];

export class ClassSchedule {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async create(
    courseId: string,
    teacherId: string,
    fields: Required<Pick<ClassFields, 'title' | 'startsAtLocal' | 'timeZone'>> & ClassFields,
  ): Promise<LiveClass> {
    const scheduledAt = zonedWallTimeToUtc(fields.startsAtLocal, fields.timeZone);
    if (scheduledAt.getTime() < Date.now() - 5 * 60_000) throw new ScheduleError('in_the_past', 'The start time is in the past');
    const [row] = await this.#db
      .insert(liveClasses)
      .values({
        courseId,
        teacherId,
        title: fields.title,
        description: fields.description ?? '',
        lessonId: fields.lessonId ?? null,
        scheduledAt,
        timeZone: fields.timeZone,
        durationMinutes: fields.durationMinutes ?? 60,
      })
      .returning();
    return row!;
  }

  async get(classId: string): Promise<LiveClass | null> {
    const rows = await this.#db.select().from(liveClasses).where(eq(liveClasses.id, classId)).limit(1);
    return rows[0] ?? null;
  }

  async update(current: LiveClass, fields: ClassFields): Promise<LiveClass> {
    if (current.status !== 'scheduled') throw new ScheduleError('not_editable', `A ${current.status} class can no longer be edited`);
    const patch: Partial<LiveClass> = {};
    if (fields.title !== undefined) patch.title = fields.title;
    if (fields.description !== undefined) patch.description = fields.description;
    if (fields.lessonId !== undefined) patch.lessonId = fields.lessonId;
    if (fields.durationMinutes !== undefined) patch.durationMinutes = fields.durationMinutes;
    if (fields.timeZone !== undefined) patch.timeZone = fields.timeZone;
    if (fields.startsAtLocal !== undefined) {
      const at = zonedWallTimeToUtc(fields.startsAtLocal, fields.timeZone ?? current.timeZone);
      if (at.getTime() < Date.now() - 5 * 60_000) throw new ScheduleError('in_the_past', 'The start time is in the past');
      patch.scheduledAt = at;
    }
    const [row] = await this.#db.update(liveClasses).set(patch).where(eq(liveClasses.id, current.id)).returning();
    return row!;
  }

  async cancel(current: LiveClass): Promise<LiveClass> {
    if (current.status === 'cancelled') return current;
    if (current.status !== 'scheduled') throw new ScheduleError('not_cancellable', `A ${current.status} class cannot be cancelled`);
    const [row] = await this.#db
      .update(liveClasses)
      .set({ status: 'cancelled', cancelledAt: new Date() })
      .where(and(eq(liveClasses.id, current.id), eq(liveClasses.status, 'scheduled')))
      .returning();
    if (!row) throw new ScheduleError('not_cancellable', 'The class changed meanwhile; reload and try again');
    return row;
  }

  /** Classes of one course, soonest first; `includePast` adds ended ones (for replays). */
  async forCourse(courseId: string, viewerRole: ScheduledClass['role']): Promise<ScheduledClass[]> {
    const rows = await this.#select(eq(liveClasses.courseId, courseId));
    return rows.map((r) => toScheduled(r, viewerRole));
  }

  /**
   * The viewer's schedule: classes they teach and classes of published courses they are enrolled in, in a
   * window; cancelled ones stay listed (marked) so nobody shows up to a class that will not happen.
   */
  async forUser(user: SessionUser, from: Date, until: Date): Promise<ScheduledClass[]> {
    const enrolled = sql`exists (select 1 from ${enrollments} where ${enrollments.courseId} = ${liveClasses.courseId} and ${enrollments.userId} = ${user.id})`;
    const mine = or(eq(liveClasses.teacherId, user.id), eq(courses.teacherId, user.id), and(enrolled, eq(courses.published, true)));
    const inWindow = and(
      lt(liveClasses.scheduledAt, until),
      or(
        eq(liveClasses.status, 'live'),
        sql`${liveClasses.scheduledAt} + make_interval(mins => ${liveClasses.durationMinutes}) >= ${from.toISOString()}::timestamptz`,
      ),
    );
    const rows = await this.#select(and(mine, inWindow)!);
    return rows.map((r) => toScheduled(r, r.teacherId === user.id ? 'teacher' : 'student'));
  }

  #select(where: SQL): Promise<ClassRow[]> {
    return selectClasses(this.#db, where);
  }
}

function toScheduled(r: ClassRow, role: ScheduledClass['role']): ScheduledClass {
  return {
    id: r.id,
    title: r.title,
    description: r.description,
    status: r.status,
    scheduledAt: r.scheduledAt.toISOString(),
    endsAt: new Date(r.scheduledAt.getTime() + r.durationMinutes * 60_000).toISOString(),
    timeZone: r.timeZone,
    durationMinutes: r.durationMinutes,
    courseId: r.courseId,
    courseTitle: r.courseTitle,
    lessonId: r.lessonId,
    teacherName: r.teacherName,
    role,
  };
}
