// Wires the parts into one Node server on one port: Hono API (/api, /health, /media), Socket.io
// (/socket.io) and the SvelteKit pages (everything else). `startLectern` is also what tests start.
import http from 'node:http';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { loadConfig, type Config } from './config.ts';
import { createLogger } from './log.ts';
import { openDatabase } from './db/client.ts';
import { SessionStore } from './auth/session-store.ts';
import { Accounts } from './auth/accounts.ts';
import { Permissions } from './auth/permissions.ts';
import { RateLimiter } from './auth/rate-limiter.ts';
import { WorkerPool } from './sfu/worker-pool.ts';
import { probeFfmpeg } from './hls/ffmpeg-info.ts';
import { ClassCatalog } from './classes/class-catalog.ts';
import { createHttpApp } from './http/app.ts';
import { createSocketServer, type LecternIo } from './realtime/socket-server.ts';
import { ClassMembership } from './realtime/class-membership.ts';
import { createAppHandler } from './app-handler.ts';
import { publishServices, type Services } from './services.ts';

export interface LecternServer {
  url: string;
  port: number;
  services: Services;
  io: LecternIo;
  membership: ClassMembership;
  httpServer: http.Server;
  close(): Promise<void>;
}

export interface StartOptions {
  config?: Config;
  /** 'build' serves app/build; 'dev' runs Vite with hot reload; 'none' serves only the API (socket tests). */
  app?: 'build' | 'dev' | 'none';
}

const API_PREFIXES = ['/api/', '/health', '/media/'];

export async function startLectern(options: StartOptions = {}): Promise<LecternServer> {
  const config = options.config ?? loadConfig();
  const log = createLogger(config.logLevel);
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') });
  log.info({ kind: database.kind }, 'database ready (migrations applied)');

  const workers = new WorkerPool({
    size: config.media.workers,
    workerBin: config.media.workerBin,
    listenIp: config.media.listenIp,
    announcedIp: config.media.announcedIp,
    rtcPort: config.media.rtcPort,
    rtcMinPort: config.media.rtcMinPort,
    rtcMaxPort: config.media.rtcMaxPort,
    log: log.child({ module: 'sfu' }),
  });
  const [ffmpeg] = await Promise.all([probeFfmpeg(config.ffmpegPath), workers.start()]);
  if (!ffmpeg.found) log.warn({ path: config.ffmpegPath }, 'ffmpeg not found: HLS and recordings are unavailable');

  const services: Services = {
    config,
    log,
    database,
    db: database.db,
    sessions: new SessionStore(database.db, { days: config.sessionDays }),
    accounts: new Accounts(database.db),
    permissions: new Permissions(database.db),
    loginLimiter: new RateLimiter({ max: 5, windowMs: 15 * 60_000 }),
    workers,
    ffmpeg,
    classes: new ClassCatalog(database.db),
  };
  publishServices(services);

  const api = createHttpApp(services);
  const apiListener = getRequestListener(api.fetch);
  const httpServer = http.createServer();
  const appMode = options.app ?? 'build';
  const appHandler = appMode === 'none' ? null : await createAppHandler(appMode, httpServer);

  httpServer.on('request', (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/socket.io/')) return; // answered by Socket.io's own listener
    if (API_PREFIXES.some((p) => url.startsWith(p)) || !appHandler) return void apiListener(req, res);
    appHandler.handle(req, res, () => void apiListener(req, res));
  });
  const realtime = await createSocketServer(httpServer, services);
  // Class features (SFU signalling, chat, Q&A, polls, hands, presence) plug in here with membership.use().
  const membership = new ClassMembership(realtime.io, services);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;

  const purge = setInterval(() => {
    services.sessions.purgeExpired().catch((err: unknown) => log.warn({ err }, 'session purge failed'));
  }, 3600_000);
  purge.unref();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(purge);
      await realtime.close(); // also closes the HTTP server
      await appHandler?.close();
      workers.close();
      await database.close();
      publishServices(undefined);
      log.info('lectern stopped');
    })());

  log.info({ url, app: appMode, workers: workers.health().alive, ffmpeg: ffmpeg.version }, 'lectern is listening');
  return { url, port, services, io: realtime.io, membership, httpServer, close };
}

// Run as a program: `node server/main.ts [--dev]`
if (import.meta.main) {
  const dev = process.argv.includes('--dev');
  const server = await startLectern({ app: dev ? 'dev' : 'build' });
  console.log(`\n  Lectern is live on ${server.url}  (health: ${server.url}/health)\n`);
  const shutdown = (signal: string): void => {
    server.services.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
