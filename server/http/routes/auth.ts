// /api/auth: register, login, logout, current user.
import { Hono } from 'hono';
import { LoginBody, RegisterBody, type PublicUser } from '../../contracts/auth.ts';
import { AccountError, type Accounts } from '../../auth/accounts.ts';
import type { RateLimiter } from '../../auth/rate-limiter.ts';
import type { SessionCookies } from '../../auth/session-cookies.ts';
import type { SessionStore } from '../../auth/session-store.ts';
import type { Logger } from '../../log.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, sendCookies, type AppEnv } from '../session.ts';
import { jsonBody } from '../validate.ts';
import { clientIp } from '../client-ip.ts';
import type { AccountMail } from '../../accounts/account-mail.ts';

export interface AuthRouteParts {
  accounts: Accounts;
  sessions: SessionStore;
  cookies: SessionCookies;
  loginLimiter: RateLimiter;
  registrationLimiter: RateLimiter;
  /** Behind a reverse proxy: the client address comes from X-Forwarded-For. */
  trustProxy: boolean;
  /** Mails "confirm your address" to every new account. */
  accountMail: Pick<AccountMail, 'requestVerification'>;
  log: Logger;
}

export const authRoutes = ({
  accounts,
  sessions,
  cookies,
  loginLimiter,
  registrationLimiter,
  trustProxy,
  accountMail,
  log,
}: AuthRouteParts) =>
  new Hono<AppEnv>()
    .post('/register', async (c) => {
      const limit = registrationLimiter.hit(clientIp(c, trustProxy));
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
        user = await accounts.register(body);
      } catch (err) {
        if (err instanceof AccountError) throw new ApiFailure(409, err.code, err.message);
        throw err;
      }
      const { token, session } = await sessions.create(user.id, { ip: clientIp(c, trustProxy), userAgent: c.req.header('user-agent') });
      sendCookies(c, [cookies.issue(token, session.expiresAt)]);
      await accountMail.requestVerification(user);
      log.info({ userId: user.id, role: user.role }, 'user registered');
      return c.json({ user }, 201);
    })
    .post('/login', async (c) => {
      const body = await jsonBody(c, LoginBody);
      const key = `${clientIp(c, trustProxy)}|${body.email}`;
      const limit = loginLimiter.hit(key);
      if (!limit.allowed) {
        c.header('Retry-After', String(limit.retryAfter));
        throw new ApiFailure(429, 'rate_limited', `Too many login attempts; try again in ${limit.retryAfter} s`);
      }
      let user: PublicUser;
      try {
        user = await accounts.authenticate(body.email, body.password);
      } catch (err) {
        if (err instanceof AccountError) throw new ApiFailure(401, err.code, err.message);
        throw err;
      }
      loginLimiter.reset(key);
      const { token, session } = await sessions.create(user.id, { ip: clientIp(c, trustProxy), userAgent: c.req.header('user-agent') });
      sendCookies(c, [cookies.issue(token, session.expiresAt)]);
      return c.json({ user });
    })
    .post('/logout', async (c) => {
      const session = c.get('session');
      if (session) await sessions.invalidate(session.id);
      sendCookies(c, [cookies.clear()]);
      return c.json({ ok: true });
    })
    .get('/me', (c) => {
      const user = requireUser(c);
      return c.json({ user });
    });
