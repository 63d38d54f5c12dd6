// Starts the real server (real database, real mediasoup worker, real ffmpeg) on free ports for one test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startLectern, type LecternServer, type StartOptions } from '../../server/main.ts';
import { createScratchDatabase, type DbKind } from './databases.ts';
import { serverEnv } from './server-process.ts';

export interface TestServer extends LecternServer {
  dataDir: string;
  dbKind: DbKind;
  stop(): Promise<void>;
}

/** `env` is laid over the test environment; a variable given as undefined takes the product's default. */
export async function startTestServer(
  options: { db?: DbKind; app?: StartOptions['app']; env?: Record<string, string | undefined> } = {},
): Promise<TestServer> {
  const dbKind = options.db ?? 'pglite';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-test-'));
  const scratch = dbKind === 'postgres' ? await createScratchDatabase() : undefined;
  const config = loadConfig({ ...process.env, ...serverEnv({ dataDir, databaseUrl: scratch?.url }), ...options.env });
  const server = await startLectern({ config, app: options.app ?? 'none' });
  return {
    ...server,
    dataDir,
    dbKind,
    async stop() {
      await server.close();
      await scratch?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
