// GET /health: the state of every part the product needs; 503 when one is down.
import { Hono } from 'hono';
import type { AppEnv } from '../session.ts';

export const healthRoutes = new Hono<AppEnv>().get('/', async (c) => {
  const services = c.get('services');
  const databaseOk = await services.database.ping();
  const workers = services.workers.health();
  const ffmpeg = services.ffmpeg;
  const ok = databaseOk && workers.alive >= 1 && ffmpeg.found;
  return c.json(
    {
      status: ok ? 'ok' : 'degraded',
      uptimeSeconds: Math.round(process.uptime()),
      database: { ok: databaseOk, kind: services.database.kind },
      workers,
      ffmpeg: { found: ffmpeg.found, version: ffmpeg.version },
    },
    ok ? 200 : 503,
  );
});
