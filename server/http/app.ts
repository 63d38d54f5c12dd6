// The HTTP API as a table of contents. Every route module owns one concern.
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { secureHeaders } from 'hono/secure-headers';
import type { Services } from '../services.ts';
import { ApiFailure, errorResponse } from './errors.ts';
import { sessionMiddleware, type AppEnv } from './session.ts';
import { authRoutes } from './routes/auth.ts';
import { healthRoutes } from './routes/health.ts';

export function createHttpApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError((err, c) => {
    if (!(err instanceof ApiFailure)) services.log.error({ err, path: c.req.path }, 'request failed');
    return errorResponse(err, c);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.use('*', secureHeaders({ crossOriginResourcePolicy: false, crossOriginOpenerPolicy: false }));
  // Cookie-authenticated writes only from our own origin (SameSite=Lax covers the rest).
  app.use('/api/*', csrf(services.config.origin ? { origin: services.config.origin } : {}));
  app.use('*', sessionMiddleware(services));

  app.route('/health', healthRoutes);
  app.route('/api/auth', authRoutes);
  return app;
}
