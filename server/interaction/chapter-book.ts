// The chapters of a class: the teacher marks one during the class ("Mark chapter" in the studio) or adds,
// renames, moves and deletes them on the replay afterwards. Each is kept at the moment of the class it
// starts (wall clock); the replay places it through its runs (hls/replay-clock.ts).
import { and, asc, eq, notExists, sql } from 'drizzle-orm';
import { TIMELINE_LIMITS } from '../contracts/timeline.ts';
import type { Database } from '../db/client.ts';
import { classChapters, liveClasses, recordings, type ClassChapterRow } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';

export class ChapterBook {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** A chapter starting now, in a class that is live; without a title it is "Chapter N". */
  async mark(classId: string, createdBy: string, title: string | undefined): Promise<ClassChapterRow> {
    const [klass] = await this.#db.select({ status: liveClasses.status }).from(liveClasses).where(eq(liveClasses.id, classId)).limit(1);
    if (klass?.status !== 'live') throw new DomainError('invalid_state', 'Chapters are marked while the class is live');
    return this.add(classId, createdBy, title, new Date());
  }

  /** A chapter starting at the moment `at` of the class. */
  async add(classId: string, createdBy: string, title: string | undefined, at: Date): Promise<ClassChapterRow> {
    return this.#db.transaction(async (tx) => {
      // Serialises the count and the insert per class (two quick marks get two numbers, the limit holds).
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`chapters:${classId}`}))`);
      const [existing] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(classChapters)
        .where(eq(classChapters.classId, classId));
      const count = Number(existing?.n ?? 0);
      if (count >= TIMELINE_LIMITS.chaptersPerClass)
        throw new DomainError('too_many_chapters', `A class has at most ${TIMELINE_LIMITS.chaptersPerClass} chapters`);
      const [row] = await tx
        .insert(classChapters)
        .values({ classId, createdBy, title: title ?? `Chapter ${count + 1}`, at })
        .returning();
      return row!;
    });
  }

  /** The class's chapters in the order they start. */
  async list(classId: string): Promise<ClassChapterRow[]> {
    return this.#db
      .select()
      .from(classChapters)
      .where(eq(classChapters.classId, classId))
      .orderBy(asc(classChapters.at), asc(classChapters.createdAt));
  }

  async update(
    classId: string,
    chapterId: string,
    change: { title?: string | undefined; at?: Date | undefined },
  ): Promise<ClassChapterRow> {
    const [row] = await this.#db
      .update(classChapters)
      .set({ ...(change.title !== undefined ? { title: change.title } : {}), ...(change.at ? { at: change.at } : {}) })
      .where(and(eq(classChapters.id, chapterId), eq(classChapters.classId, classId)))
      .returning();
    if (!row) throw new DomainError('not_found', 'No such chapter in this replay');
    return row;
  }

  async remove(classId: string, chapterId: string): Promise<void> {
    const gone = await this.#db
      .delete(classChapters)
      .where(and(eq(classChapters.id, chapterId), eq(classChapters.classId, classId)))
      .returning({ id: classChapters.id });
    if (!gone.length) throw new DomainError('not_found', 'No such chapter in this replay');
  }
}

/**
 * Deletes the chapters of these classes that no longer have a recording: chapters are a replay's, and go with
 * the class's last one. Takes the transaction that deleted the recordings.
 */
export async function forgetChaptersWithoutReplay(tx: Pick<Database, 'delete'>, classIds: readonly string[]): Promise<void> {
  for (const classId of new Set(classIds)) {
    await tx
      .delete(classChapters)
      .where(
        and(
          eq(classChapters.classId, classId),
          notExists(sql`(select 1 from ${recordings} where ${recordings.classId} = ${classChapters.classId})`),
        ),
      );
  }
}
