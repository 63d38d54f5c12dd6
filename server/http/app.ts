// The HTTP API as a table of contents. Every route module owns one concern.
import { Hono } from 'hono';
import { csrf } from 'hono/csrf';
import { secureHeaders } from 'hono/secure-headers';
import type { Services } from '../services.ts';
import { apiErrorHandler } from './errors.ts';
import { sessionMiddleware, type AppEnv } from './session.ts';
import { authRoutes } from './routes/auth.ts';
import { healthRoutes } from './routes/health.ts';
import { courseRoutes } from './routes/courses.ts';
import { lessonRoutes } from './routes/lessons.ts';
import { progressRoutes } from './routes/progress.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { classScheduleRoutes, courseClassRoutes } from './routes/classes.ts';
import { scheduleRoutes } from './routes/schedule.ts';
import { classAnalyticsRoutes, courseAnalyticsRoutes } from './routes/analytics.ts';
import { lessonMediaRoutes } from './routes/lesson-media.ts';
import { pollRoutes } from './routes/polls.ts';
import { mediaApiRoutes, mediaRoutes } from './routes/media.ts';

export function createHttpApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(apiErrorHandler(services.log));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.use('*', secureHeaders({ crossOriginResourcePolicy: false, crossOriginOpenerPolicy: false }));
  // Cookie-authenticated writes only from our own origin (SameSite=Lax covers the rest).
  app.use('/api/*', csrf(services.config.origin ? { origin: services.config.origin } : {}));
  app.use('*', sessionMiddleware(services, { tokenOnly: ['/media/'] }));

  app.route('/health', healthRoutes);
  app.route('/api/auth', authRoutes);
  // Learning platform: catalog, courses, lessons, progress, uploads, scheduling, analytics.
  app.route('/api/courses', courseRoutes);
  app.route('/api/courses', courseClassRoutes);
  app.route('/api/courses', courseAnalyticsRoutes);
  app.route('/api/lessons', lessonRoutes);
  app.route('/api/lessons', progressRoutes);
  app.route('/api/lessons', uploadRoutes);
  app.route('/api/classes', classScheduleRoutes);
  app.route('/api/classes', classAnalyticsRoutes);
  app.route('/api/schedule', scheduleRoutes);
  app.route('/media/lessons', lessonMediaRoutes);
  app.route('/api', pollRoutes); // GET /api/classes/:classId/polls.csv
  // HLS: signed URLs for the live class and recordings, and the token-checked files themselves.
  app.route('/api/media', mediaApiRoutes);
  app.route('/media', mediaRoutes);
  return app;
}
