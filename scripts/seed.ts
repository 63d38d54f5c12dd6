// npm run seed: the demo accounts (a teacher, a student, an admin), a published course with lessons and a class
// scheduled for tomorrow, then their logins. Idempotent. While `npm start` runs on the embedded database (which
// only one process may open), the running server adds them. Every refusal is one line, never a stack trace.
import path from 'node:path';
import { loadConfig } from '../server/config.ts';
import { ConfigError } from '../server/config-error.ts';
import { openDatabase } from '../server/db/client.ts';
import { addDemoData, describeDemoLogins } from '../server/demo/demo-data.ts';
import { askRunningServer } from '../server/ops/local-control.ts';

async function seed(): Promise<string> {
  const config = loadConfig();
  const pgliteDir = path.join(config.dataDir, 'db');
  let database;
  try {
    database = await openDatabase({ url: config.databaseUrl, pgliteDir });
  } catch (err) {
    // The embedded database is held by a running server: ask it to add the data.
    if (config.databaseUrl || !(err instanceof ConfigError)) throw err;
    const reply = await askRunningServer(config.dataDir, { command: 'demo-data' }).catch(() => {
      throw new ConfigError(
        `${err.message} It does not answer on ${path.join(config.dataDir, 'lectern.sock')} either; or start it with npm start -- --demo.`,
      );
    });
    if (!reply.ok) throw new ConfigError(`the running server could not add the demo data: ${reply.error}`);
    return reply.output;
  }
  try {
    return describeDemoLogins(await addDemoData(database.db), config.databaseUrl ? 'PostgreSQL' : `PGlite in ${config.dataDir}`);
  } finally {
    await database.close();
  }
}

try {
  console.log(await seed());
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  console.error(`lectern seed: ${message.split('\n')[0]}`);
  if (process.env.LOG_LEVEL === 'debug') console.error(err);
  process.exitCode = 1;
}
