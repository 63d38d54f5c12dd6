// Raised hands of a live class: an ordered queue (first raised, first in line) kept in the database so that
// every server process sees the same order.
import { and, asc, eq } from 'drizzle-orm';
import type { RaisedHand } from '../contracts/interaction.ts';
import type { Database } from '../db/client.ts';
import { raisedHands, users } from '../db/schema.ts';
import { isoDate } from './authors.ts';

export class HandQueue {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Raises the hand (keeping its place when already raised); true when it was not raised before. */
  async raise(classId: string, userId: string): Promise<boolean> {
    const rows = await this.#db
      .insert(raisedHands)
      .values({ classId, userId })
      .onConflictDoNothing()
      .returning({ userId: raisedHands.userId });
    return rows.length > 0;
  }

  /** True when the hand was raised. */
  async lower(classId: string, userId: string): Promise<boolean> {
    const rows = await this.#db
      .delete(raisedHands)
      .where(and(eq(raisedHands.classId, classId), eq(raisedHands.userId, userId)))
      .returning({ userId: raisedHands.userId });
    return rows.length > 0;
  }

  /** Lowers every hand; returns how many were raised. */
  async lowerAll(classId: string): Promise<number> {
    const rows = await this.#db.delete(raisedHands).where(eq(raisedHands.classId, classId)).returning({ userId: raisedHands.userId });
    return rows.length;
  }

  async list(classId: string): Promise<RaisedHand[]> {
    const rows = await this.#db
      .select({ userId: raisedHands.userId, displayName: users.displayName, raisedAt: raisedHands.raisedAt })
      .from(raisedHands)
      .innerJoin(users, eq(users.id, raisedHands.userId))
      .where(eq(raisedHands.classId, classId))
      .orderBy(asc(raisedHands.raisedAt), asc(raisedHands.userId));
    return rows.map((r) => ({ userId: r.userId, displayName: r.displayName, raisedAt: isoDate(r.raisedAt) }));
  }
}
