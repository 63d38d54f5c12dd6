// Reads the session cookie on every request and exposes the user; refreshes the cookie when the session slid.
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { SESSION_COOKIE, type SessionUser } from '../auth/session-store.ts';
import type { Session } from '../db/schema.ts';
import type { Services } from '../services.ts';
import { ApiFailure } from './errors.ts';

export type AppEnv = {
  Variables: { user: SessionUser | null; session: Session | null; services: Services };
};

export function setSessionCookie(c: Context, services: Services, token: string, expiresAt: Date): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: services.config.secureCookies,
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context, services: Services): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: services.config.secureCookies });
}

/**
 * `tokenOnly`: path prefixes whose routes authenticate with signed URLs alone (the /media files): a player
 * fetches one every second or two and sends its cookie along, and looking the session up would cost a
 * database query per segment for a user nobody reads there.
 */
export function sessionMiddleware(services: Services, options: { tokenOnly?: readonly string[] } = {}): MiddlewareHandler<AppEnv> {
  const tokenOnly = options.tokenOnly ?? [];
  return async (c, next) => {
    c.set('services', services);
    c.set('user', null);
    c.set('session', null);
    const token = tokenOnly.some((prefix) => c.req.path.startsWith(prefix)) ? undefined : getCookie(c, SESSION_COOKIE);
    if (token) {
      const result = await services.sessions.validate(token);
      if (result) {
        c.set('user', result.user);
        c.set('session', result.session);
        if (result.refreshed) setSessionCookie(c, services, token, result.session.expiresAt);
      } else {
        clearSessionCookie(c, services);
      }
    }
    await next();
  };
}

export function requireUser(c: Context<AppEnv>): SessionUser {
  const user = c.get('user');
  if (!user) throw new ApiFailure(401, 'unauthenticated', 'Log in first');
  return user;
}

export function requireRole(c: Context<AppEnv>, ...roles: SessionUser['role'][]): SessionUser {
  const user = requireUser(c);
  if (!roles.includes(user.role)) throw new ApiFailure(403, 'forbidden', `Only ${roles.join(' or ')} accounts may do this`);
  return user;
}
