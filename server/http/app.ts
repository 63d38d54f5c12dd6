// The HTTP API as a table of contents: which route module answers which path. Every route module owns one
// concern and is built (in main.ts) with only the parts it uses.
import { Hono, type MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import type { SessionCookies } from '../auth/session-cookies.ts';
import { isRelayed } from '../cluster/node-relay.ts';
import type { Logger } from '../log.ts';
import { apiErrorHandler } from './errors.ts';
import { classLogContext, requestContext } from './request-context.ts';
import { sessionMiddleware, type AppEnv } from './session.ts';

type Routes = Hono<AppEnv>;

export interface ApiRoutes {
  health: Routes;
  /** Prometheus metrics (loopback or LECTERN_METRICS_TOKEN). */
  metrics: Routes;
  /** The OpenAPI document and its reference page. */
  openApi: Routes;
  /** Admins: accounts, live classes, failures, audit. */
  admin: Routes;
  auth: Routes;
  courses: Routes;
  courseClasses: Routes;
  courseAnalytics: Routes;
  lessons: Routes;
  progress: Routes;
  uploads: Routes;
  classSchedule: Routes;
  classAnalytics: Routes;
  polls: Routes;
  schedule: Routes;
  lessonMedia: Routes;
  mediaApi: Routes;
  /** A replay's timeline (chat, questions, polls) and chapters */
  replayTimeline: Routes;
  media: Routes;
  /** Accounts: confirming an address, password reset, the profile and its devices, pictures. */
  accountRecovery: Routes;
  profile: Routes;
  avatars: Routes;
  /** Course invitations (teacher side under /api/courses, invitee side), course hand-over. */
  courseInvitations: Routes;
  invitations: Routes;
  courseHandOver: Routes;
  /** Mail: the profile's notice switches and the unsubscribe page's API; RFC 8058 one-click unsubscribe. */
  mailPreferences: Routes;
  unsubscribe: Routes;
  /** WHIP ingest for encoders (bearer stream key, CORS), the class's stream key and encoder status. */
  whip: Routes;
  /** WHEP playback for players (session cookie or bearer media token, CORS). */
  whep: Routes;
}

export interface HttpAppOptions {
  /** LECTERN_ORIGIN: cookie-authenticated writes are accepted from this origin only (else the request's). */
  origin: string | undefined;
  cookies: SessionCookies;
  log: Logger;
  /** Measures every request for /metrics (HttpMetrics). */
  requestMetrics: MiddlewareHandler;
}

export function createHttpApp({ origin, cookies, log, requestMetrics }: HttpAppOptions, routes: ApiRoutes): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.onError(apiErrorHandler(log));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  app.use('*', requestContext());
  app.use('*', requestMetrics);
  for (const path of ['/api/classes/:classId/*', '/api/classes/:classId', '/api/media/classes/:classId/*', '/media/classes/:classId/*'])
    app.use(path, classLogContext());
  // Security headers are set for every answer (pages too) where main.ts dispatches: see security-headers.ts.
  // Cookie-authenticated writes only from our own origin (SameSite=Lax covers the rest). WHIP is exempt:
  // encoders send no Origin (and DELETE without a Content-Type, which the check reads as a form), and they
  // authenticate with a bearer token, never a cookie. So is WHEP with a bearer media token (players elsewhere);
  // WHEP with the cookie keeps the check.
  // A request another node relayed (cluster/node-relay.ts) passed this check there; it reaches this node at its
  // internal URL, which the browser's Origin does not name. Its marking header is no way around the check: a page
  // on another site cannot add a header to a request to /api without a CORS preflight, which /api refuses.
  const sameOrigin = csrf(origin ? { origin } : {});
  const bearerOnly = /^\/api\/classes\/[^/]+\/whip(\/|$)/;
  const bearerOrCookie = /^\/api\/classes\/[^/]+\/whep(\/|$)/;
  app.use('/api/*', (c, next) =>
    bearerOnly.test(c.req.path) || (bearerOrCookie.test(c.req.path) && c.req.header('authorization')) || isRelayed(c.req.raw)
      ? next()
      : sameOrigin(c, next),
  );
  app.use('*', sessionMiddleware(cookies, { tokenOnly: ['/media/'] }));

  app.route('/health', routes.health);
  app.route('/metrics', routes.metrics);
  app.route('/api', routes.openApi);
  app.route('/api/admin', routes.admin);
  app.route('/api/auth', routes.auth);
  app.route('/api/account', routes.accountRecovery);
  app.route('/api/account', routes.profile);
  app.route('/api/users', routes.avatars);
  app.route('/api', routes.mailPreferences);
  // Outside /api: mail clients post the one-click unsubscribe from their own servers (no origin, no cookie).
  app.route('/mail', routes.unsubscribe);
  // Learning platform: catalog, courses, lessons, progress, uploads, scheduling, analytics.
  app.route('/api/courses', routes.courses);
  app.route('/api/courses', routes.courseClasses);
  app.route('/api/courses', routes.courseAnalytics);
  app.route('/api/courses', routes.courseInvitations);
  app.route('/api/courses', routes.courseHandOver);
  app.route('/api/invitations', routes.invitations);
  app.route('/api/lessons', routes.lessons);
  app.route('/api/lessons', routes.progress);
  app.route('/api/lessons', routes.uploads);
  app.route('/api/classes', routes.classSchedule);
  app.route('/api/classes', routes.classAnalytics);
  app.route('/api/classes', routes.polls); // GET /api/classes/:classId/polls.csv
  app.route('/api/classes', routes.whip);
  app.route('/api/classes', routes.whep);
  app.route('/api/schedule', routes.schedule);
  app.route('/media/lessons', routes.lessonMedia);
  app.route('/media/t/:token/lessons', routes.lessonMedia); // what the API signs now; the ?token= form above still answers
  // HLS: signed URLs for the live class and recordings, and the token-checked files themselves.
  app.route('/api/media', routes.mediaApi);
  app.route('/api/media', routes.replayTimeline);
  app.route('/media', routes.media);
  return app;
}
