// /api/auth: register, login, logout, current user.
import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { LoginBody, RegisterBody, type PublicUser } from '../../contracts/auth.ts';
import { AccountError } from '../../auth/accounts.ts';
import { ApiFailure } from '../errors.ts';
import { clearSessionCookie, requireUser, setSessionCookie, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';

/** The client's address: the socket's, or behind a trusted proxy the last X-Forwarded-For hop it added. */
function clientIp(c: Context<AppEnv>): string {
  if (c.get('services').config.trustProxy) {
    const hops = c.req
      .header('x-forwarded-for')
      ?.split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const last = hops?.at(-1);
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export const authRoutes = new Hono<AppEnv>()
  .post('/register', async (c) => {
    const services = c.get('services');
    const limit = services.registrationLimiter.hit(clientIp(c));
    if (!limit.allowed) {
      c.header('Retry-After', String(limit.retryAfter));
      throw new ApiFailure(
        429,
        'rate_limited',
        `Too many new accounts from your address; try again in ${Math.ceil(limit.retryAfter / 60)} min`,
      );
    }
    const body = await jsonBody(c, RegisterBody);
    let user: PublicUser;
    try {
      user = await services.accounts.register(body);
    } catch (err) {
      if (err instanceof AccountError) throw new ApiFailure(409, err.code, err.message);
      throw err;
    }
    const { token, session } = await services.sessions.create(user.id, { ip: clientIp(c), userAgent: c.req.header('user-agent') });
    setSessionCookie(c, services, token, session.expiresAt);
    services.log.info({ userId: user.id, role: user.role }, 'user registered');
    return c.json({ user }, 201);
  })
  .post('/login', async (c) => {
    const services = c.get('services');
    const body = await jsonBody(c, LoginBody);
    const key = `${clientIp(c)}|${body.email}`;
    const limit = services.loginLimiter.hit(key);
    if (!limit.allowed) {
      c.header('Retry-After', String(limit.retryAfter));
      throw new ApiFailure(429, 'rate_limited', `Too many login attempts; try again in ${limit.retryAfter} s`);
    }
    let user: PublicUser;
    try {
      user = await services.accounts.authenticate(body.email, body.password);
    } catch (err) {
      if (err instanceof AccountError) throw new ApiFailure(401, err.code, err.message);
      throw err;
    }
    services.loginLimiter.reset(key);
    const { token, session } = await services.sessions.create(user.id, { ip: clientIp(c), userAgent: c.req.header('user-agent') });
    setSessionCookie(c, services, token, session.expiresAt);
    return c.json({ user });
  })
  .post('/logout', async (c) => {
    const services = c.get('services');
    const session = c.get('session');
    if (session) await services.sessions.invalidate(session.id);
    clearSessionCookie(c, services);
    return c.json({ ok: true });
  })
  .get('/me', (c) => {
    const user = requireUser(c);
    return c.json({ user });
  });
