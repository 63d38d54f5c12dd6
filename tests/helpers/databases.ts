// The databases every data test runs against: embedded PGlite always, and the PostgreSQL server when one
// answers at TEST_DATABASE_URL (default: the local server our machines and CI carry).
import postgres from 'postgres';

export type DbKind = 'pglite' | 'postgres';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: boolean | undefined;
export async function postgresReachable(): Promise<boolean> {
  if (reachable !== undefined) return reachable;
  const sql = postgres(ADMIN_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    reachable = true;
  } catch {
    reachable = false;
  } finally {
    await sql.end({ timeout: 1 });
  }
  return reachable;
}

/** Kinds to run: PGlite always; PostgreSQL when reachable (CI requires it: LECTERN_REQUIRE_POSTGRES=1). */
export async function dbKinds(): Promise<DbKind[]> {
  // Under libfaketime (tests/clock) only this process tree's clock moves: PGlite's now() moves with it, the
  // PostgreSQL server's cannot, and a database whose now() disagrees with the server's by months is no
  // deployment anyone runs.
  if (process.env.FAKETIME) return ['pglite'];
  if (await postgresReachable()) return ['pglite', 'postgres'];
  if (process.env.LECTERN_REQUIRE_POSTGRES === '1') throw new Error(`PostgreSQL is required but not reachable at ${ADMIN_URL}`);
  // A developer's machine without a server: say so, once per file, rather than pass quietly with half the runs.
  console.warn(`PostgreSQL does not answer at ${ADMIN_URL}: this file runs on PGlite only (CI requires both)`);
  return ['pglite'];
}

/** A fresh, empty database on the server; drop() removes it. */
export async function createScratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `lectern_t_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
