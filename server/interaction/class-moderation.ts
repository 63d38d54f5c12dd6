// A teacher's moderation of one class: muting a student (no chat, no questions) and removing one (their
// sockets leave and they may not join the class again). Stored per class, so it outlives reconnects and
// holds on every server process.
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { classRestrictions, liveClasses, users, type ClassRestrictionKind } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';

export class ClassModeration {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The restrictions on this user in this class (empty for almost everyone: one primary-key lookup). */
  async restrictionsOf(classId: string, userId: string): Promise<Set<ClassRestrictionKind>> {
    const rows = await this.#db
      .select({ kind: classRestrictions.kind })
      .from(classRestrictions)
      .where(and(eq(classRestrictions.classId, classId), eq(classRestrictions.userId, userId)));
    return new Set(rows.map((r) => r.kind));
  }

  /** Mutes or unmutes; true when this changed something. */
  async setMuted(classId: string, userId: string, muted: boolean, by: string): Promise<boolean> {
    await this.#assertStudent(classId, userId);
    if (muted) {
      const rows = await this.#db
        .insert(classRestrictions)
        .values({ classId, userId, kind: 'muted', createdBy: by })
        .onConflictDoNothing()
        .returning({ userId: classRestrictions.userId });
      return rows.length > 0;
    }
    const rows = await this.#db
      .delete(classRestrictions)
      .where(and(eq(classRestrictions.classId, classId), eq(classRestrictions.userId, userId), eq(classRestrictions.kind, 'muted')))
      .returning({ userId: classRestrictions.userId });
    return rows.length > 0;
  }

  async remove(classId: string, userId: string, by: string): Promise<void> {
    await this.#assertStudent(classId, userId);
    await this.#db.insert(classRestrictions).values({ classId, userId, kind: 'removed', createdBy: by }).onConflictDoNothing();
  }

  /** Only students are moderated: never the class's teacher or an admin. */
  async #assertStudent(classId: string, userId: string): Promise<void> {
    const [row] = await this.#db
      .select({ role: users.role, teacherId: liveClasses.teacherId })
      .from(users)
      .innerJoin(liveClasses, eq(liveClasses.id, classId))
      .where(eq(users.id, userId))
      .limit(1);
    if (!row) throw new DomainError('not_found', 'No such person');
    if (row.teacherId === userId || row.role === 'admin')
      throw new DomainError('forbidden', 'Teachers and admins cannot be muted or removed');
  }
}
