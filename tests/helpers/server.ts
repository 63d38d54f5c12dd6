// Starts the real server (real database, real mediasoup worker, real ffmpeg) on free ports for one test file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../server/config.ts';
import { startLectern, type LecternServer, type StartOptions } from '../../server/main.ts';
import { createScratchDatabase, type DbKind } from './databases.ts';
import { serverEnv } from './server-process.ts';
import { sharedMailCatcher } from './mail-catcher.ts';

export interface TestServer extends LecternServer {
  /** The server's own database (drizzle), for arranging and checking rows. */
  db: LecternServer['database']['db'];
  dataDir: string;
  dbKind: DbKind;
  stop(): Promise<void>;
  /**
   * Shuts the server down as a deployment's stop does and starts a new one on the same data and database;
   * `whileStopped` runs in between.
   */
  restart(whileStopped?: () => Promise<void> | void): Promise<TestServer>;
}

/** `env` is laid over the test environment; a variable given as undefined takes the product's default. */
export async function startTestServer(
  options: { db?: DbKind; app?: StartOptions['app']; env?: Record<string, string | undefined>; demo?: boolean } = {},
): Promise<TestServer> {
  const dbKind = options.db ?? 'pglite';
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-test-'));
  const scratch = dbKind === 'postgres' ? await createScratchDatabase() : undefined;
  // Mail goes to this test process's SMTP catcher (registerUser follows the verification link from it).
  const smtp = { LECTERN_SMTP_URL: (await sharedMailCatcher()).url };
  const config = loadConfig({ ...process.env, ...serverEnv({ dataDir, databaseUrl: scratch?.url }), ...smtp, ...options.env });
  return launch(
    config,
    options.app ?? 'none',
    dbKind,
    async () => {
      await scratch?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    options.demo ?? false,
  );
}

async function launch(
  config: Config,
  app: StartOptions['app'],
  dbKind: DbKind,
  cleanUp: () => Promise<void>,
  demo = false,
): Promise<TestServer> {
  const server = await startLectern({ config, app, demo });
  return {
    ...server,
    db: server.database.db,
    dataDir: config.dataDir,
    dbKind,
    async stop() {
      await server.close();
      await cleanUp();
    },
    async restart(whileStopped) {
      await server.close();
      await whileStopped?.();
      return launch(config, app, dbKind, cleanUp);
    },
  };
}
