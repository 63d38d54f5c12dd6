// What a teacher sees after a class and across a course: attendance, viewers over time, participation,
// completion. Read-only queries over attendance, chat, questions, polls and lesson progress.
import { and, asc, countDistinct, count, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import {
  attendance,
  chatMessages,
  enrollments,
  lessonProgress,
  lessons,
  liveClasses,
  pollVotes,
  polls,
  questions,
  users,
  type LiveClass,
} from '../db/schema.ts';
import type { ClassAnalytics, CourseAnalytics } from '../contracts/analytics.ts';

/** At most this many points in the viewers chart; longer classes get wider buckets. */
const MAX_POINTS = 240;

export function viewersOverTime(intervals: { from: number; to: number }[]): { at: string; viewers: number; peak: number }[] {
  if (!intervals.length) return [];
  const start = Math.min(...intervals.map((i) => i.from));
  const end = Math.max(...intervals.map((i) => i.to));
  const minute = 60_000;
  const step = Math.max(minute, Math.ceil((end - start) / MAX_POINTS / minute) * minute);
  const points: { at: string; viewers: number; peak: number }[] = [];
  for (let t = start; t <= end; t += step) {
    // Anyone present at some moment of the bucket counts for it.
    const viewers = intervals.filter((i) => i.from < t + step && i.to >= t).length;
    points.push({ at: new Date(t).toISOString(), viewers, peak: viewers });
  }
  return points;
}

/** Most viewers present at the same instant (sweep over join/leave events). */
export function peakConcurrent(intervals: { from: number; to: number }[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.from, d: 1 },
    { t: i.to, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let peak = 0;
  for (const e of events) {
    now += e.d;
    peak = Math.max(peak, now);
  }
  return peak;
}

export class LearningAnalytics {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async forClass(liveClass: LiveClass): Promise<ClassAnalytics> {
    const db = this.#db;
    const rows = await db
      .select({
        userId: attendance.userId,
        displayName: users.displayName,
        joinedAt: attendance.joinedAt,
        leftAt: attendance.leftAt,
        watchSeconds: attendance.watchSeconds,
        mode: attendance.mode,
      })
      .from(attendance)
      .innerJoin(users, eq(users.id, attendance.userId))
      .where(eq(attendance.classId, liveClass.id))
      .orderBy(asc(attendance.joinedAt));
    const end = (liveClass.endedAt ?? new Date()).getTime();
    const intervals = rows.map((r) => ({ from: r.joinedAt.getTime(), to: r.leftAt?.getTime() ?? end }));
    const [chat] = await db
      .select({ n: count(), people: countDistinct(chatMessages.userId) })
      .from(chatMessages)
      .where(and(eq(chatMessages.classId, liveClass.id), isNull(chatMessages.deletedAt)));
    const [asked] = await db
      .select({ n: count(), people: countDistinct(questions.userId) })
      .from(questions)
      .where(eq(questions.classId, liveClass.id));
    const [pollCount] = await db.select({ n: count() }).from(polls).where(eq(polls.classId, liveClass.id));
    const [voters] = await db
      .select({ people: countDistinct(pollVotes.userId) })
      .from(pollVotes)
      .innerJoin(polls, eq(polls.id, pollVotes.pollId))
      .where(eq(polls.classId, liveClass.id));
    const distinctViewers = new Set(rows.map((r) => r.userId)).size;
    return {
      classId: liveClass.id,
      title: liveClass.title,
      status: liveClass.status,
      peakViewers: Math.max(liveClass.peakViewers, peakConcurrent(intervals)),
      totalViewers: Math.max(liveClass.totalViewers, distinctViewers),
      attendance: rows.map((r) => ({
        userId: r.userId,
        displayName: r.displayName,
        joinedAt: r.joinedAt.toISOString(),
        leftAt: r.leftAt?.toISOString() ?? null,
        // A still-open row counts up to now (or the class end) so a live view is not stuck at 0.
        watchSeconds: r.leftAt ? r.watchSeconds : Math.max(r.watchSeconds, Math.round((end - r.joinedAt.getTime()) / 1000)),
        mode: r.mode,
      })),
      viewersOverTime: viewersOverTime(intervals).map(({ at, viewers }) => ({ at, viewers })),
      participation: {
        chatMessages: chat?.n ?? 0,
        chatters: chat?.people ?? 0,
        questions: asked?.n ?? 0,
        askers: asked?.people ?? 0,
        polls: pollCount?.n ?? 0,
        pollVoters: voters?.people ?? 0,
      },
    };
  }

  async forCourse(course: { id: string; title: string }): Promise<CourseAnalytics> {
    const db = this.#db;
    const courseLessons = await db
      .select({ id: lessons.id, title: lessons.title })
      .from(lessons)
      .where(eq(lessons.courseId, course.id))
      .orderBy(asc(lessons.position));
    // The student's progress rows on this course's lessons (each subquery below reads them).
    const ownProgress = sql`from ${lessonProgress} join ${lessons} on ${lessons.id} = ${lessonProgress.lessonId}
      where ${lessonProgress.userId} = ${users.id} and ${lessons.courseId} = ${course.id}`;
    const lessonPercent = sql`case when ${lessonProgress.completed} then 100
      when ${lessonProgress.durationSeconds} > 0 then least(100, ${lessonProgress.positionSeconds} * 100 / ${lessonProgress.durationSeconds})
      else 0 end`;
    const students = await db
      .select({
        userId: users.id,
        displayName: users.displayName,
        email: users.email,
        enrolledAt: enrollments.createdAt,
        completedLessons: sql<number>`(select count(*)::int ${ownProgress} and ${lessonProgress.completed})`,
        lastActivityAt: sql<string | null>`(select max(${lessonProgress.updatedAt}) ${ownProgress})`,
        watchedPercent: sql<number>`(select coalesce(sum(${lessonPercent}), 0)::int ${ownProgress})`,
      })
      .from(enrollments)
      .innerJoin(users, eq(users.id, enrollments.userId))
      .where(eq(enrollments.courseId, course.id))
      .orderBy(asc(users.displayName));
    const perLesson = await db
      .select({
        lessonId: lessonProgress.lessonId,
        started: count(),
        completed: sql<number>`count(*) filter (where ${lessonProgress.completed})::int`,
      })
      .from(lessonProgress)
      .innerJoin(lessons, eq(lessons.id, lessonProgress.lessonId))
      .innerJoin(enrollments, and(eq(enrollments.userId, lessonProgress.userId), eq(enrollments.courseId, lessons.courseId)))
      .where(eq(lessons.courseId, course.id))
      .groupBy(lessonProgress.lessonId);
    const byLesson = new Map(perLesson.map((p) => [p.lessonId, p]));
    const classes = await db
      .select({
        classId: liveClasses.id,
        title: liveClasses.title,
        status: liveClasses.status,
        scheduledAt: liveClasses.scheduledAt,
        peakViewers: liveClasses.peakViewers,
        totalViewers: liveClasses.totalViewers,
      })
      .from(liveClasses)
      .where(eq(liveClasses.courseId, course.id))
      .orderBy(asc(liveClasses.scheduledAt));
    const total = courseLessons.length;
    const enrolled = students.length;
    const studentRows = students.map((s) => ({
      userId: s.userId,
      displayName: s.displayName,
      email: s.email,
      enrolledAt: new Date(s.enrolledAt).toISOString(),
      completedLessons: Number(s.completedLessons),
      // Average over all lessons of how far the student got in each (a lesson watched halfway counts 50 %).
      percent: total ? Math.round(Number(s.watchedPercent) / total) : 0,
      lastActivityAt: s.lastActivityAt ? new Date(s.lastActivityAt).toISOString() : null,
    }));
    const finished = studentRows.filter((s) => total > 0 && s.completedLessons >= total).length;
    return {
      courseId: course.id,
      title: course.title,
      enrolled,
      totalLessons: total,
      completionRate: enrolled ? Math.round((finished / enrolled) * 100) : 0,
      averagePercent: enrolled ? Math.round(studentRows.reduce((a, s) => a + s.percent, 0) / enrolled) : 0,
      lessons: courseLessons.map((l) => {
        const p = byLesson.get(l.id);
        const completed = Number(p?.completed ?? 0);
        return {
          lessonId: l.id,
          title: l.title,
          started: Number(p?.started ?? 0),
          completed,
          completionRate: enrolled ? Math.round((completed / enrolled) * 100) : 0,
        };
      }),
      students: studentRows,
      classes: classes.map((k) => ({ ...k, scheduledAt: k.scheduledAt.toISOString() })),
    };
  }
}
