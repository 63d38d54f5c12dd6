// GET /health: the state of every part the product needs; 503 when one is down.
import { Hono } from 'hono';
import type { DatabaseHandle } from '../../db/client.ts';
import type { FfmpegInfo } from '../../hls/ffmpeg-info.ts';
import type { WorkerPool } from '../../sfu/worker-pool.ts';
import type { AppEnv } from '../session.ts';

export interface HealthParts {
  database: Pick<DatabaseHandle, 'ping' | 'kind'>;
  workers: Pick<WorkerPool, 'health'>;
  ffmpeg: FfmpegInfo;
}

export const healthRoutes = ({ database, workers: pool, ffmpeg }: HealthParts) =>
  new Hono<AppEnv>().get('/', async (c) => {
    const databaseOk = await database.ping();
    const workers = pool.health();
    const ok = databaseOk && workers.alive >= 1 && ffmpeg.found;
    return c.json(
      {
        status: ok ? 'ok' : 'degraded',
        uptimeSeconds: Math.round(process.uptime()),
        database: { ok: databaseOk, kind: database.kind },
        workers,
        ffmpeg: { found: ffmpeg.found, version: ffmpeg.version },
      },
      ok ? 200 : 503,
    );
  });
