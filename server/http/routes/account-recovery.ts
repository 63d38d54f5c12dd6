// /api/account: confirming an address and getting back into an account.
//   POST /verification            send "confirm your address" again (logged in, rate-limited)
//   POST /verify-email {token}    the mailed link's page confirms with it (once; it expires)
//   POST /forgot-password {email} always the same 202, whether or not an account uses the address
//   POST /reset-password {token, password}   new password, every session of the account ends, this
//                                             browser is logged in afresh
// The links open pages that post the token on a click: mail scanners that fetch links do not use them up.
import { Hono } from 'hono';
import { ForgotPasswordBody, ResetPasswordBody, VerifyEmailBody } from '../../contracts/account.ts';
import type { Accounts } from '../../auth/accounts.ts';
import type { SessionStore } from '../../auth/session-store.ts';
import { RateLimiter } from '../../auth/rate-limiter.ts';
import type { AccountMail } from '../../accounts/account-mail.ts';
import type { AccountTokens, TokenUse } from '../../accounts/account-tokens.ts';
import type { Logger } from '../../log.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, sendCookies, type AppEnv } from '../session.ts';
import type { SessionCookies } from '../../auth/session-cookies.ts';
import { jsonBody } from '../validate.ts';
import { clientIp } from '../client-ip.ts';

export interface AccountRecoveryDeps {
  accounts: Accounts;
  sessions: SessionStore;
  tokens: AccountTokens;
  accountMail: AccountMail;
  cookies: SessionCookies;
  trustProxy: boolean;
  log: Logger;
}

/** What every forgot-password request hears. */
export const RESET_REQUESTED = 'If an account uses this address, we have sent it a link to choose a new password.';

function limited(c: { header(name: string, value: string): void }, limiter: RateLimiter, key: string, what: string): void {
  const limit = limiter.hit(key);
  if (limit.allowed) return;
  c.header('Retry-After', String(limit.retryAfter));
  throw new ApiFailure(429, 'rate_limited', `Too many ${what}; try again in ${Math.ceil(limit.retryAfter / 60)} min`);
}

function tokenFailure(use: Exclude<TokenUse, { ok: true }>, again: string): never {
  if (use.reason === 'expired') throw new ApiFailure(410, 'link_expired', `This link has expired. ${again}`);
  throw new ApiFailure(400, 'invalid_link', `This link is not valid any more (each link works once). ${again}`);
}

export function accountRecoveryRoutes(deps: AccountRecoveryDeps) {
  const resend = new RateLimiter({ max: 3, windowMs: 3600_000 });
  const linkUses = new RateLimiter({ max: 30, windowMs: 15 * 60_000 });
  const resetsPerAddress = new RateLimiter({ max: 5, windowMs: 3600_000 });
  const resetsPerClient = new RateLimiter({ max: 50, windowMs: 3600_000 });

  return new Hono<AppEnv>()
    .post('/verification', async (c) => {
      const user = requireUser(c);
      if (user.emailVerified) return c.json({ sent: false, emailVerified: true });
      limited(c, resend, user.id, 'confirmation messages');
      await deps.accountMail.requestVerification(user);
      return c.json({ sent: true, emailVerified: false }, 202);
    })
    .post('/verify-email', async (c) => {
      limited(c, linkUses, clientIp(c, deps.trustProxy), 'attempts');
      const { token } = await jsonBody(c, VerifyEmailBody);
      const use = await deps.tokens.consume(token, 'verify_email');
      if (!use.ok) tokenFailure(use, 'Send a new one from your profile.');
      await deps.accounts.markVerified(use.userId);
      await deps.tokens.revokeAll(use.userId, 'verify_email');
      deps.log.info({ userId: use.userId }, 'email verified');
      return c.json({ emailVerified: true });
    })
    .post('/forgot-password', async (c) => {
      const { email } = await jsonBody(c, ForgotPasswordBody);
      // Limited per address whether or not it has an account, so a 429 tells nothing either.
      limited(c, resetsPerClient, clientIp(c, deps.trustProxy), 'reset requests');
      limited(c, resetsPerAddress, email, 'reset requests for this address');
      await deps.accountMail.requestPasswordReset(email);
      return c.json({ message: RESET_REQUESTED }, 202);
    })
    .post('/reset-password', async (c) => {
      limited(c, linkUses, clientIp(c, deps.trustProxy), 'attempts');
      const { token, password } = await jsonBody(c, ResetPasswordBody);
      const use = await deps.tokens.consume(token, 'reset_password');
      if (!use.ok) tokenFailure(use, 'Ask for a new one from the login page.');
      await deps.accounts.setPassword(use.userId, password);
      await deps.tokens.revokeAll(use.userId, 'reset_password');
      // The link came by mail, so the address is proven too.
      await deps.accounts.markVerified(use.userId);
      await deps.sessions.invalidateAllFor(use.userId);
      const { token: sessionToken, session } = await deps.sessions.create(use.userId, {
        ip: clientIp(c, deps.trustProxy),
        userAgent: c.req.header('user-agent'),
      });
      sendCookies(c, [deps.cookies.issue(sessionToken, session.expiresAt)]);
      deps.log.info({ userId: use.userId }, 'password reset; every other session ended');
      return c.json({ user: await deps.accounts.byId(use.userId) });
    });
}
