// Where each student is in each lesson; completed once 90 % is watched and it stays completed (rewatching
// the start of a finished lesson must not un-complete it).
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { lessonProgress, lessons } from '../db/schema.ts';
import { COMPLETED_RATIO, type CourseProgressView, type LessonProgressView } from '../contracts/progress.ts';

type ProgressRow = typeof lessonProgress.$inferSelect;

export function progressView(row: ProgressRow): LessonProgressView {
  const percent = row.completed
    ? 100
    : row.durationSeconds > 0
      ? Math.min(100, Math.round((row.positionSeconds / row.durationSeconds) * 100))
      : 0;
  return {
    lessonId: row.lessonId,
    positionSeconds: row.positionSeconds,
    durationSeconds: row.durationSeconds,
    percent,
    completed: row.completed,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export class LessonProgress {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async record(userId: string, lessonId: string, positionSeconds: number, durationSeconds: number): Promise<LessonProgressView> {
    const position = Math.floor(positionSeconds);
    const duration = Math.round(durationSeconds);
    const reached = duration > 0 && positionSeconds >= duration * COMPLETED_RATIO;
    const now = new Date();
    const [row] = await this.#db
      .insert(lessonProgress)
      .values({
        userId,
        lessonId,
        positionSeconds: position,
        durationSeconds: duration,
        completed: reached,
        completedAt: reached ? now : null,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [lessonProgress.userId, lessonProgress.lessonId],
        set: {
          positionSeconds: position,
          durationSeconds: sql`greatest(${lessonProgress.durationSeconds}, ${duration})`,
          completed: sql`${lessonProgress.completed} or ${reached}`,
          completedAt: sql`coalesce(${lessonProgress.completedAt}, ${reached ? now.toISOString() : null}::timestamptz)`,
          updatedAt: now,
        },
      })
      .returning();
    return progressView(row!);
  }

  async get(userId: string, lessonId: string): Promise<LessonProgressView | null> {
    const rows = await this.#db
      .select()
      .from(lessonProgress)
      .where(and(eq(lessonProgress.userId, userId), eq(lessonProgress.lessonId, lessonId)))
      .limit(1);
    return rows[0] ? progressView(rows[0]) : null;
  }

  /** Every lesson of the course the user has touched, keyed by lesson id. */
  async forCourse(userId: string, courseId: string): Promise<Map<string, LessonProgressView>> {
    const rows = await this.#db
      .select({ p: lessonProgress })
      .from(lessonProgress)
      .innerJoin(lessons, eq(lessons.id, lessonProgress.lessonId))
      .where(and(eq(lessonProgress.userId, userId), eq(lessons.courseId, courseId)));
    return new Map(rows.map((r) => [r.p.lessonId, progressView(r.p)]));
  }

  async courseProgress(userId: string, courseId: string): Promise<CourseProgressView> {
    const courseLessons = await this.#db
      .select({ id: lessons.id })
      .from(lessons)
      .where(eq(lessons.courseId, courseId))
      .orderBy(asc(lessons.position));
    const touched = await this.#db
      .select({ p: lessonProgress })
      .from(lessonProgress)
      .innerJoin(lessons, eq(lessons.id, lessonProgress.lessonId))
      .where(and(eq(lessonProgress.userId, userId), eq(lessons.courseId, courseId)))
      .orderBy(desc(lessonProgress.updatedAt));
    const byLesson = new Map(touched.map((t) => [t.p.lessonId, t.p]));
    const completed = courseLessons.filter((l) => byLesson.get(l.id)?.completed).length;
    const lastUnfinished = touched.find((t) => !t.p.completed)?.p;
    const firstUntouched = courseLessons.find((l) => !byLesson.has(l.id));
    const continueLessonId = lastUnfinished?.lessonId ?? firstUntouched?.id ?? null;
    return {
      courseId,
      completedLessons: completed,
      totalLessons: courseLessons.length,
      percent: courseLessons.length ? Math.round((completed / courseLessons.length) * 100) : 0,
      continueLessonId,
      continuePositionSeconds: lastUnfinished?.positionSeconds ?? 0,
    };
  }
}
