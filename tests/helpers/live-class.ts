// A live class made of real rows, written straight into the database for tests and benchmarks that are not
// about the course API: a published course, one class in it, and the given students enrolled in the course.
import type { Database } from '../../server/db/client.ts';
import { courses, enrollments, liveClasses } from '../../server/db/schema.ts';

export interface ClassRows {
  classId: string;
  courseId: string;
}

export interface ClassRowsOptions {
  teacherId: string;
  studentIds: string[];
  title: string;
  courseTitle: string;
  /** Already started (status live) instead of scheduled for now. */
  live: boolean;
}

/** Enrollment rows per INSERT: keeps a benchmark's thousands of students under PostgreSQL's parameter limit. */
const BATCH = 500;

export async function insertClass(db: Database, options: ClassRowsOptions): Promise<ClassRows> {
  const { teacherId } = options;
  const [course] = await db
    .insert(courses)
    .values({ teacherId, title: options.courseTitle, published: true })
    .returning({ id: courses.id });
  const now = new Date();
  const [liveClass] = await db
    .insert(liveClasses)
    .values({
      courseId: course!.id,
      teacherId,
      title: options.title,
      scheduledAt: now,
      ...(options.live ? { status: 'live' as const, startedAt: now } : {}),
    })
    .returning({ id: liveClasses.id });
  for (let i = 0; i < options.studentIds.length; i += BATCH) {
    await db.insert(enrollments).values(options.studentIds.slice(i, i + BATCH).map((userId) => ({ userId, courseId: course!.id })));
  }
  return { classId: liveClass!.id, courseId: course!.id };
}
