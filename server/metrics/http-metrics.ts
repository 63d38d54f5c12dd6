// HTTP request durations for /metrics, by route pattern (never the raw path: bounded labels) and status. API
// requests are measured by a Hono middleware that knows the matched route; pages and the app's files are
// measured where main.ts hands them to SvelteKit, as one route each.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Histogram, type Registry } from 'prom-client';

export class HttpMetrics {
  readonly #duration: Histogram<'method' | 'route' | 'status'>;

  constructor(registry: Registry) {
    this.#duration = new Histogram({
      name: 'lectern_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  }

  /** Measures each API request under the pattern of the last route it matched (a middleware's for a 404). */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const stop = this.#duration.startTimer();
      try {
        await next();
      } finally {
        stop({ method: c.req.method, route: routePath(c, -1), status: String(c.res.status) });
      }
    };
  }

  /** Measures a page or app file answered outside Hono, under one route name. */
  observeNode(req: IncomingMessage, res: ServerResponse, route: string): void {
    const stop = this.#duration.startTimer();
    res.once('close', () => stop({ method: req.method ?? 'GET', route, status: String(res.statusCode) }));
  }
}
