// Two whole Lectern server processes sharing one scratch PostgreSQL database and Redis (the Socket.io adapter
// carries class rooms from one to the other), and a database handle for writing fixtures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { createScratchDatabase } from './databases.ts';
import { REDIS_URL, requireRedis } from './redis.ts';
import { serverEnv, ServerProcess } from './server-process.ts';

export interface ProcessPair {
  a: ServerProcess;
  b: ServerProcess;
  database: DatabaseHandle;
  stop(): Promise<void>;
}

export async function startProcessPair(name: string, env: Record<string, string> = {}): Promise<ProcessPair> {
  await requireRedis();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `lectern-${name}-`));
  const scratch = await createScratchDatabase();
  const start = (which: string) =>
    ServerProcess.start({ ...serverEnv({ dataDir: path.join(dataDir, which), databaseUrl: scratch.url, redisUrl: REDIS_URL }), ...env });
  const a = await start('a'); // migrates the database first
  const b = await start('b');
  const database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
  return {
    a,
    b,
    database,
    async stop() {
      await database.close();
      await Promise.all([a.stop(), b.stop()]);
      await scratch.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
