// Resolves the session cookie on every request (SessionCookies, shared with the pages and Socket.io) and
// exposes the user to the routes; sends the cookie again when the session slid, or removes a dead one.
import type { Context, MiddlewareHandler } from 'hono';
import type { ResolvedSession, SessionCookies } from '../auth/session-cookies.ts';
import type { SessionUser } from '../auth/session-store.ts';
import type { Session } from '../db/schema.ts';
import { ApiFailure } from './errors.ts';

export type AppEnv = {
  Variables: { user: SessionUser | null; session: Session | null };
};

/** Answers the request with these Set-Cookie values (from SessionCookies). */
export function sendCookies(c: Context, setCookie: readonly string[]): void {
  for (const value of setCookie) c.header('set-cookie', value, { append: true });
}

/**
 * `tokenOnly`: path prefixes whose routes authenticate with signed URLs alone (the /media files): a player
 * fetches one every second or two and sends its cookie along, and looking the session up would cost a
 * database query per segment for a user nobody reads there.
 */
export function sessionMiddleware(cookies: SessionCookies, options: { tokenOnly?: readonly string[] } = {}): MiddlewareHandler<AppEnv> {
  const tokenOnly = options.tokenOnly ?? [];
  return async (c, next) => {
    let current: ResolvedSession | null = null;
    if (!tokenOnly.some((prefix) => c.req.path.startsWith(prefix))) {
      const resolved = await cookies.resolve(c.req.header('cookie'));
      current = resolved.current;
      sendCookies(c, resolved.setCookie);
    }
    c.set('user', current?.user ?? null);
    c.set('session', current?.session ?? null);
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
