// GET /metrics: Prometheus exposition format, for a scraper on this machine or one with LECTERN_METRICS_TOKEN.
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { ApiFailure } from '../errors.ts';
import type { OperatorAccess } from '../operator-access.ts';
import type { AppEnv } from '../session.ts';

export interface MetricsRouteParts {
  registry: Pick<Registry, 'metrics' | 'contentType'>;
  access: Pick<OperatorAccess, 'mayScrape'>;
}

export const metricsRoutes = ({ registry, access }: MetricsRouteParts) =>
  new Hono<AppEnv>().get('/', async (c) => {
    if (!access.mayScrape(c)) {
      c.header('www-authenticate', 'Bearer realm="lectern-metrics"');
      throw new ApiFailure(401, 'unauthenticated', 'Metrics are served to this machine or with the metrics token');
    }
    c.header('cache-control', 'no-store');
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  });
