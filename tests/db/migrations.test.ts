// Migrations apply on an empty PGlite and an empty PostgreSQL database, and the constraints that stop
// duplicate votes and enrollments hold on both.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getTableName, is, sql } from 'drizzle-orm';
import { PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, schema, type DatabaseHandle } from '../../server/db/client.ts';
import { createScratchDatabase, dbKinds } from '../helpers/databases.ts';

// Every table the drizzle schema declares: the migrations must create exactly these.
const EXPECTED_TABLES = Object.values(schema)
  .filter((v) => is(v, PgTable))
  .map((t) => getTableName(t as PgTable))
  .sort();

/** How many migrations the database has recorded as applied (drizzle's own journal table). */
async function appliedMigrations(handle: DatabaseHandle): Promise<number> {
  const result = await handle.db.execute<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
  const rows = Array.isArray(result) ? result : (result as { rows: { n: number }[] }).rows;
  return Number(rows[0]!.n);
}

describe.each(await dbKinds())('migrations on %s', (kind) => {
  let handle: DatabaseHandle;
  let cleanup: () => Promise<void>;
  let dir: string;
  /** Opens the same database again, as a restarted (or a second) server process does. */
  let reopen: () => Promise<DatabaseHandle>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-db-'));
    if (kind === 'postgres') {
      const scratch = await createScratchDatabase();
      reopen = () => openDatabase({ url: scratch.url, pgliteDir: dir });
      cleanup = scratch.drop;
    } else {
      reopen = () => openDatabase({ pgliteDir: dir });
      cleanup = async () => {};
    }
    handle = await reopen();
  });
  afterAll(async () => {
    await handle?.close();
    await cleanup?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates every table of the domain', async () => {
    expect(EXPECTED_TABLES).toEqual(
      expect.arrayContaining(['users', 'sessions', 'courses', 'lessons', 'live_classes', 'recordings', 'poll_votes']),
    );
    const rows = await handle.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    const names = (Array.isArray(rows) ? rows : (rows as { rows: { table_name: string }[] }).rows).map((r) => r.table_name);
    expect(names).toEqual(EXPECTED_TABLES);
  });

  it('is idempotent: opening again applies nothing twice and keeps data', async () => {
    await handle.db.insert(schema.users).values({ email: 'keep@example.test', displayName: 'K', passwordHash: 'x' });
    const migrationsBefore = await appliedMigrations(handle);
    expect(migrationsBefore).toBeGreaterThan(0);
    // As a restarted server: the embedded database is closed first (one opener at a time), a server is not.
    if (kind === 'pglite') await handle.close();
    const again = await reopen();
    if (kind === 'pglite') handle = again;
    else await again.close();
    expect(await appliedMigrations(handle)).toBe(migrationsBefore);
    const users = await handle.db.select().from(schema.users);
    expect(users.map((u) => u.email)).toEqual(['keep@example.test']);
  });

  it('refuses a second opener of the embedded database instead of corrupting it; a server takes several', async () => {
    if (kind === 'pglite') {
      await expect(openDatabase({ pgliteDir: dir })).rejects.toThrow(/is in use by this process/);
      expect(await handle.ping()).toBe(true);
      return;
    }
    // Two server processes on one PostgreSQL database: each sees what the other writes.
    const second = await reopen();
    try {
      await second.db.insert(schema.users).values({ email: 'second@example.test', displayName: 'S', passwordHash: 'x' });
      const emails = (await handle.db.select().from(schema.users)).map((u) => u.email).sort();
      expect(emails).toEqual(['keep@example.test', 'second@example.test']);
      expect(await handle.ping()).toBe(true);
    } finally {
      await second.close();
    }
    await handle.db.delete(schema.users).where(sql`${schema.users.email} = 'second@example.test'`);
  });

  it('enforces the uniqueness that keeps votes, upvotes, enrollments and emails single', async () => {
    const db = handle.db;
    const [teacher] = await db
      .insert(schema.users)
      .values({ email: 't@example.test', displayName: 'T', passwordHash: 'x', role: 'teacher' })
      .returning();
    const [student] = await db.insert(schema.users).values({ email: 's@example.test', displayName: 'S', passwordHash: 'x' }).returning();
    await expect(db.insert(schema.users).values({ email: 'S@EXAMPLE.TEST', displayName: 'S2', passwordHash: 'x' })).rejects.toThrow();
    const [course] = await db.insert(schema.courses).values({ teacherId: teacher!.id, title: 'C' }).returning();
    await db.insert(schema.enrollments).values({ userId: student!.id, courseId: course!.id });
    await expect(db.insert(schema.enrollments).values({ userId: student!.id, courseId: course!.id })).rejects.toThrow();
    const [cls] = await db
      .insert(schema.liveClasses)
      .values({ courseId: course!.id, teacherId: teacher!.id, title: 'L', scheduledAt: new Date() })
      .returning();
    const [poll] = await db.insert(schema.polls).values({ classId: cls!.id, createdBy: teacher!.id, question: 'Q?' }).returning();
    const [opt] = await db.insert(schema.pollOptions).values({ pollId: poll!.id, position: 0, label: 'A' }).returning();
    await db.insert(schema.pollVotes).values({ pollId: poll!.id, userId: student!.id, optionIds: [opt!.id] });
    await expect(db.insert(schema.pollVotes).values({ pollId: poll!.id, userId: student!.id, optionIds: [opt!.id] })).rejects.toThrow();
    const [q] = await db.insert(schema.questions).values({ classId: cls!.id, userId: student!.id, body: 'why?' }).returning();
    await db.insert(schema.questionVotes).values({ questionId: q!.id, userId: teacher!.id });
    await expect(db.insert(schema.questionVotes).values({ questionId: q!.id, userId: teacher!.id })).rejects.toThrow();
    await expect(db.insert(schema.courses).values({ teacherId: teacher!.id, title: 'Neg', priceCents: -1 })).rejects.toThrow();
  });
});
