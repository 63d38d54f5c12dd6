// Whole Lectern server processes (nodes) sharing one scratch PostgreSQL database and Redis (the Socket.io adapter
// carries class rooms from one to the other, and class media crosses nodes over mediasoup pipes), and a database
// handle for writing fixtures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { createScratchDatabase } from './databases.ts';
import { REDIS_URL, requireRedis } from './redis.ts';
import { serverEnv, ServerProcess } from './server-process.ts';

export interface ProcessCluster {
  /** node-1, node-2, ... (LECTERN_NODE_NAME), in that order. */
  nodes: ServerProcess[];
  database: DatabaseHandle;
  /** Starts node i (1-based) again under its name and environment, in its place in `nodes` (after it was killed). */
  restart(i: number): Promise<ServerProcess>;
  stop(): Promise<void>;
}

export interface ProcessPair {
  a: ServerProcess;
  b: ServerProcess;
  database: DatabaseHandle;
  stop(): Promise<void>;
}

export async function startProcessCluster(name: string, count: number, env: Record<string, string> = {}): Promise<ProcessCluster> {
  await requireRedis();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `lectern-${name}-`));
  const scratch = await createScratchDatabase();
  const start = (i: number) =>
    ServerProcess.start({
      ...serverEnv({ dataDir: path.join(dataDir, `node-${i}`), databaseUrl: scratch.url, redisUrl: REDIS_URL }),
      LECTERN_NODE_NAME: `node-${i}`,
      ...env,
    });
  const nodes = [await start(1)]; // migrates the database first
  nodes.push(...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 2)))));
  const database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
  return {
    nodes,
    database,
    async restart(i) {
      return (nodes[i - 1] = await start(i));
    },
    async stop() {
      await database.close();
      await Promise.all(nodes.map((n) => n.stop()));
      await scratch.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startProcessPair(name: string, env: Record<string, string> = {}): Promise<ProcessPair> {
  const { nodes, database, stop } = await startProcessCluster(name, 2, env);
  return { a: nodes[0]!, b: nodes[1]!, database, stop };
}
