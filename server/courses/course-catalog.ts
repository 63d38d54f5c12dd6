// Courses and their ordered lessons: the catalog (search + pagination), the editor's writes and enrollment.
// Permission checks happen in the routes (Permissions); this class only reads and writes.
import { and, asc, count, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { courses, enrollments, lessons, users, type Course, type Lesson } from '../db/schema.ts';
import type { CatalogPage, CourseSummary, LessonSummary } from '../contracts/courses.ts';
import type { SessionUser } from '../auth/session-store.ts';
import { prefixQuery, searchCondition, searchRank } from './course-search.ts';

export interface CatalogRequest {
  q?: string | undefined;
  page: number;
  pageSize: number;
  scope: 'all' | 'teaching' | 'enrolled';
}

export class LessonOrderError extends Error {}

/**
 * A lesson as the API shows it. The transcode error carries ffmpeg's last lines (server paths and all): only
 * the course's editors (`editor`) see it; everyone else sees the status.
 */
export function lessonSummary(l: Lesson, viewer: { editor: boolean }): LessonSummary {
  return {
    id: l.id,
    courseId: l.courseId,
    position: l.position,
    title: l.title,
    description: l.description,
    durationSeconds: l.durationSeconds,
    videoStatus: l.videoStatus,
    videoError: viewer.editor ? l.videoError : null,
  };
}

export class CourseCatalog {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** One page of the courses the viewer may see, best search matches first, else newest first. */
  async list(viewer: SessionUser | null, request: CatalogRequest): Promise<CatalogPage> {
    const conditions: SQL[] = [];
    if (request.scope === 'teaching') {
      if (!viewer) return emptyPage(request);
      conditions.push(eq(courses.teacherId, viewer.id));
    } else if (request.scope === 'enrolled') {
      if (!viewer) return emptyPage(request);
      conditions.push(
        sql`exists (select 1 from ${enrollments} where ${enrollments.courseId} = ${courses.id} and ${enrollments.userId} = ${viewer.id})`,
      );
      conditions.push(eq(courses.published, true));
    } else if (viewer?.role !== 'admin') {
      conditions.push(viewer ? sql`(${courses.published} or ${courses.teacherId} = ${viewer.id})` : eq(courses.published, true));
    }
    const query = request.q ? prefixQuery(request.q) : null;
    if (request.q && !query) return emptyPage(request);
    if (query) conditions.push(searchCondition(query));
    const where = conditions.length ? and(...conditions) : undefined;

    const [totalRow] = await this.#db.select({ n: count() }).from(courses).where(where);
    const total = totalRow?.n ?? 0;
    const enrolledExpr = viewer
      ? sql<boolean>`exists (select 1 from ${enrollments} where ${enrollments.courseId} = ${courses.id} and ${enrollments.userId} = ${viewer.id})`
      : sql<boolean>`false`;
    const rows = await this.#db
      .select({
        id: courses.id,
        title: courses.title,
        description: courses.description,
        thumbnailUrl: courses.thumbnailUrl,
        priceCents: courses.priceCents,
        currency: courses.currency,
        published: courses.published,
        teacherId: courses.teacherId,
        teacherName: users.displayName,
        lessonCount: sql<number>`(select count(*)::int from ${lessons} where ${lessons.courseId} = ${courses.id})`,
        enrolled: enrolledExpr,
      })
      .from(courses)
      .innerJoin(users, eq(users.id, courses.teacherId))
      .where(where)
      .orderBy(...(query ? [desc(searchRank(query))] : []), desc(courses.createdAt), asc(courses.id))
      .limit(request.pageSize)
      .offset((request.page - 1) * request.pageSize);
    return {
      items: rows.map((r) => ({ ...r, lessonCount: Number(r.lessonCount), enrolled: Boolean(r.enrolled) })) satisfies CourseSummary[],
      page: request.page,
      pageSize: request.pageSize,
      total,
      pageCount: Math.max(1, Math.ceil(total / request.pageSize)),
    };
  }

  async create(
    teacherId: string,
    values: { title: string; description: string; thumbnailUrl?: string | null | undefined; priceCents: number; currency: string },
  ): Promise<Course> {
    const [course] = await this.#db
      .insert(courses)
      .values({
        teacherId,
        title: values.title,
        description: values.description,
        thumbnailUrl: values.thumbnailUrl ?? null,
        priceCents: values.priceCents,
        currency: values.currency,
      })
      .returning();
    return course!;
  }

  async update(
    courseId: string,
    patch: Partial<Pick<Course, 'title' | 'description' | 'thumbnailUrl' | 'priceCents' | 'currency' | 'published'>>,
  ): Promise<Course> {
    const [course] = await this.#db
      .update(courses)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(courses.id, courseId))
      .returning();
    return course!;
  }

  async remove(courseId: string): Promise<void> {
    await this.#db.delete(courses).where(eq(courses.id, courseId));
  }

  async teacherName(teacherId: string): Promise<string> {
    const rows = await this.#db.select({ name: users.displayName }).from(users).where(eq(users.id, teacherId)).limit(1);
    return rows[0]?.name ?? '';
  }

  async lessons(courseId: string): Promise<Lesson[]> {
    return this.#db.select().from(lessons).where(eq(lessons.courseId, courseId)).orderBy(asc(lessons.position), asc(lessons.createdAt));
  }

  async enrollmentCount(courseId: string): Promise<number> {
    const [row] = await this.#db.select({ n: count() }).from(enrollments).where(eq(enrollments.courseId, courseId));
    return row?.n ?? 0;
  }

  async addLesson(courseId: string, values: { title: string; description: string }): Promise<Lesson> {
    // Next position computed in the insert itself, so two quick adds cannot take the same slot.
    const [lesson] = await this.#db
      .insert(lessons)
      .values({
        courseId,
        title: values.title,
        description: values.description,
        position: sql`(select coalesce(max(${lessons.position}), -1) + 1 from ${lessons} where ${lessons.courseId} = ${courseId})`,
      })
      .returning();
    return lesson!;
  }

  async updateLesson(lessonId: string, patch: Partial<Pick<Lesson, 'title' | 'description'>>): Promise<Lesson> {
    const [lesson] = await this.#db.update(lessons).set(patch).where(eq(lessons.id, lessonId)).returning();
    return lesson!;
  }

  async removeLesson(lessonId: string): Promise<void> {
    await this.#db.delete(lessons).where(eq(lessons.id, lessonId));
  }

  /** Reorders to exactly the given list, which must name every lesson of the course once. */
  async reorderLessons(courseId: string, lessonIds: string[]): Promise<Lesson[]> {
    const current = await this.lessons(courseId);
    const known = new Set(current.map((l) => l.id));
    if (lessonIds.length !== known.size || new Set(lessonIds).size !== lessonIds.length || !lessonIds.every((id) => known.has(id))) {
      throw new LessonOrderError('The new order must list every lesson of the course exactly once');
    }
    await this.#db.transaction(async (tx) => {
      for (const [position, id] of lessonIds.entries()) {
        await tx
          .update(lessons)
          .set({ position })
          .where(and(eq(lessons.id, id), eq(lessons.courseId, courseId)));
      }
    });
    return this.lessons(courseId);
  }

  async enroll(userId: string, courseId: string): Promise<void> {
    await this.#db.insert(enrollments).values({ userId, courseId }).onConflictDoNothing();
  }

  async unenroll(userId: string, courseId: string): Promise<void> {
    await this.#db.delete(enrollments).where(and(eq(enrollments.userId, userId), eq(enrollments.courseId, courseId)));
  }

  async lessonsByIds(ids: string[]): Promise<Lesson[]> {
    if (!ids.length) return [];
    return this.#db.select().from(lessons).where(inArray(lessons.id, ids));
  }
}

function emptyPage(request: CatalogRequest): CatalogPage {
  return { items: [], page: request.page, pageSize: request.pageSize, total: 0, pageCount: 1 };
}
