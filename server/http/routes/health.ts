// Health for load balancers, orchestrators and operators:
//   GET /health        200 {status:'ok'} or 503 {status:'degraded'}; the parts' details (database, workers,
//                      ffmpeg, versions, pids) only for an admin session or LECTERN_METRICS_TOKEN
//   GET /health/live   the process answers (liveness: restart it when this fails)
//   GET /health/ready  it can take traffic: the database answers, a mediasoup worker is alive, it is not
//                      shutting down (readiness: send it no requests while this fails)
import { Hono } from 'hono';
import type { DatabaseHandle } from '../../db/client.ts';
import type { FfmpegInfo } from '../../hls/ffmpeg-info.ts';
import type { WorkerPool } from '../../sfu/worker-pool.ts';
import type { OperatorAccess } from '../operator-access.ts';
import type { AppEnv } from '../session.ts';

export interface HealthParts {
  database: Pick<DatabaseHandle, 'ping' | 'kind'>;
  workers: Pick<WorkerPool, 'health'>;
  ffmpeg: FfmpegInfo;
  access: Pick<OperatorAccess, 'mayInspect'>;
  /** True once the server has begun shutting down. */
  closing: () => boolean;
}

export const healthRoutes = ({ database, workers: pool, ffmpeg, access, closing }: HealthParts) =>
  new Hono<AppEnv>()
    .get('/', async (c) => {
      const databaseOk = await database.ping();
      const workers = pool.health();
      const ok = databaseOk && workers.alive >= 1 && ffmpeg.found;
      const status = ok ? 'ok' : 'degraded';
      c.header('cache-control', 'no-store');
      if (!access.mayInspect(c)) return c.json({ status }, ok ? 200 : 503);
      return c.json(
        {
          status,
          uptimeSeconds: Math.round(process.uptime()),
          database: { ok: databaseOk, kind: database.kind },
          workers,
          ffmpeg: { found: ffmpeg.found, version: ffmpeg.version },
        },
        ok ? 200 : 503,
      );
    })
    .get('/live', (c) => {
      c.header('cache-control', 'no-store');
      return c.json({ status: 'ok' });
    })
    .get('/ready', async (c) => {
      c.header('cache-control', 'no-store');
      const ready = !closing() && pool.health().alive >= 1 && (await database.ping());
      return c.json({ status: ready ? 'ready' : 'not_ready' }, ready ? 200 : 503);
    });
