// Picks the database: postgres.js against a server when DATABASE_URL is set, embedded PGlite in the data
// directory otherwise (a fresh clone runs with nothing to install). Migrations in drizzle/ run on open.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.ts';
import { PgliteDirectoryLock } from './pglite-lock.ts';

export { schema };
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** Resolves true when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

export interface OpenDatabaseOptions {
  /** postgres:// URL; when unset, PGlite in `pgliteDir` (or in memory when that is 'memory://') */
  url?: string | undefined;
  pgliteDir: string;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  return options.url ? openPostgres(options.url) : openPglite(options.pgliteDir);
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  const client = postgres(url, { max: 10, onnotice: () => {} });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  return handle('postgres', db as unknown as Database, () => client.end({ timeout: 5 }));
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  let lock: PgliteDirectoryLock | undefined;
  if (dir !== 'memory://') {
    fs.mkdirSync(dir, { recursive: true });
    lock = PgliteDirectoryLock.acquire(dir);
  }
  const client = await PGlite.create(dir).catch((err: unknown) => {
    lock?.release();
    throw err;
  });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder });
  return handle('pglite', db as unknown as Database, () => client.close().finally(() => lock?.release()));
}

/** Both drivers' databases behind one interface (drizzle's pg-core type, which both implement). */
function handle(kind: DatabaseHandle['kind'], db: Database, close: () => Promise<void>): DatabaseHandle {
  return {
    db,
    kind,
    async ping() {
      try {
        await db.execute(sql`select 1`);
        return true;
      } catch {
        return false;
      }
    },
    close,
  };
}
