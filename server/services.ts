// What the server is made of, built once in main.ts and handed to the HTTP routes, socket handlers and the
// SvelteKit hooks (through a process-wide slot, because adapter-node bundles the app separately).
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { DatabaseHandle, Database } from './db/client.ts';
import type { SessionStore } from './auth/session-store.ts';
import type { Accounts } from './auth/accounts.ts';
import type { Permissions } from './auth/permissions.ts';
import type { RateLimiter } from './auth/rate-limiter.ts';
import type { WorkerPool } from './sfu/worker-pool.ts';
import type { FfmpegInfo } from './hls/ffmpeg-info.ts';
import type { ClassCatalog } from './classes/class-catalog.ts';

export interface Services {
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  db: Database;
  sessions: SessionStore;
  accounts: Accounts;
  permissions: Permissions;
  loginLimiter: RateLimiter;
  workers: WorkerPool;
  ffmpeg: FfmpegInfo;
  classes: ClassCatalog;
}

const slot = Symbol.for('lectern.services');

export function publishServices(services: Services | undefined): void {
  (globalThis as Record<symbol, unknown>)[slot] = services;
}

export function currentServices(): Services {
  const services = (globalThis as Record<symbol, unknown>)[slot] as Services | undefined;
  if (!services) throw new Error('Lectern services are not running in this process (start with npm start / npm run dev)');
  return services;
}
