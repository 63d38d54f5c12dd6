// Course invitations.
//   Teacher side, mounted at /api/courses:
//     POST   /:courseId/invitations {addresses}     invite pasted addresses (bounded per request and per day)
//     GET    /:courseId/invitations                 pending invitations
//     DELETE /:courseId/invitations/:invitationId   revoke one
//   Invitee side, mounted at /api/invitations:
//     GET  /:token                                  what the link's page shows
//     POST /accept {token}                          enroll the logged-in account (its address must be the invited one)
//     POST /register {token, displayName, password} no account yet: create one with the invited address, enroll, log in
import { Hono, type Context } from 'hono';
import { AcceptInvitationBody, InvitationRegisterBody, InviteBody, parseAddressList } from '../../contracts/invitations.ts';
import { canEditCourse, type Permissions } from '../../auth/permissions.ts';
import type { Accounts } from '../../auth/accounts.ts';
import type { SessionStore } from '../../auth/session-store.ts';
import { RateLimiter } from '../../auth/rate-limiter.ts';
import { InvitationError, type CourseInvitations } from '../../accounts/course-invitations.ts';
import type { Logger } from '../../log.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, sendCookies, type AppEnv } from '../session.ts';
import type { SessionCookies } from '../../auth/session-cookies.ts';
import { jsonBody } from '../validate.ts';
import { clientIp } from '../client-ip.ts';
import { requireVerifiedEmail } from '../verified.ts';
import { courseAccess, idParam } from './access.ts';

export interface InvitationRouteDeps {
  invitations: CourseInvitations;
  permissions: Permissions;
  accounts: Accounts;
  sessions: SessionStore;
  cookies: SessionCookies;
  registrationLimiter: RateLimiter;
  trustProxy: boolean;
  /** LECTERN_REQUIRE_VERIFIED_EMAIL: inviting is teaching */
  requireVerifiedEmail: boolean;
  log: Logger;
}

const editOnly = 'Only the course teacher or an admin may invite to this course';

async function mapped<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof InvitationError) throw new ApiFailure(err.status, err.code, err.message);
    throw err;
  }
}

export function courseInvitationRoutes(deps: InvitationRouteDeps) {
  return new Hono<AppEnv>()
    .post('/:courseId/invitations', async (c) => {
      const { course } = await courseAccess(deps.permissions, c, canEditCourse, editOnly);
      const user = requireUser(c);
      requireVerifiedEmail(user, deps.requireVerifiedEmail, 'teach');
      if (!course.published) throw new ApiFailure(409, 'not_published', 'Publish the course before inviting students');
      const { addresses } = await jsonBody(c, InviteBody);
      const { valid, invalid } = parseAddressList(addresses);
      const result = await mapped(deps.invitations.invite(course, user, valid, invalid));
      deps.log.info({ courseId: course.id, invited: result.invited.length }, 'invitations sent');
      return c.json(result, 201);
    })
    .get('/:courseId/invitations', async (c) => {
      const { course } = await courseAccess(deps.permissions, c, canEditCourse, editOnly);
      return c.json({ invitations: await deps.invitations.pending(course.id) });
    })
    .delete('/:courseId/invitations/:invitationId', async (c) => {
      const { course } = await courseAccess(deps.permissions, c, canEditCourse, editOnly);
      const revoked = await deps.invitations.revoke(course.id, idParam(c, 'invitationId', 'invitation'));
      if (!revoked) throw new ApiFailure(404, 'not_found', 'No such pending invitation');
      return c.json({ revoked: true });
    });
}

export function invitationRoutes(deps: InvitationRouteDeps) {
  const lookups = new RateLimiter({ max: 60, windowMs: 15 * 60_000 });
  const limited = (c: Context<AppEnv>) => {
    const limit = lookups.hit(clientIp(c, deps.trustProxy));
    if (!limit.allowed) throw new ApiFailure(429, 'rate_limited', `Too many attempts; try again in ${limit.retryAfter} s`);
  };
  return new Hono<AppEnv>()
    .post('/accept', async (c) => {
      limited(c);
      const user = requireUser(c);
      const { token } = await jsonBody(c, AcceptInvitationBody);
      const { courseId } = await mapped(deps.invitations.accept(token, user));
      deps.log.info({ courseId, userId: user.id }, 'invitation accepted');
      return c.json({ courseId });
    })
    .post('/register', async (c) => {
      limited(c);
      const limit = deps.registrationLimiter.hit(clientIp(c, deps.trustProxy));
      if (!limit.allowed) throw new ApiFailure(429, 'rate_limited', 'Too many new accounts from your address; try again later');
      const body = await jsonBody(c, InvitationRegisterBody);
      const email = await mapped(deps.invitations.addressToRegister(body.token));
      const user = await deps.accounts
        .register({ email, password: body.password, displayName: body.displayName, role: 'student' })
        .catch(() => {
          throw new ApiFailure(409, 'account_exists', `${email} already has an account: log in to accept`);
        });
      const { courseId } = await mapped(deps.invitations.accept(body.token, user));
      const { token, session } = await deps.sessions.create(user.id, {
        ip: clientIp(c, deps.trustProxy),
        userAgent: c.req.header('user-agent'),
      });
      sendCookies(c, [deps.cookies.issue(token, session.expiresAt)]);
      deps.log.info({ courseId, userId: user.id }, 'invitee registered and enrolled');
      return c.json({ user: await deps.accounts.byId(user.id), courseId }, 201);
    })
    .get('/:token', async (c) => {
      limited(c);
      const view = await deps.invitations.view(c.req.param('token'));
      if (!view) throw new ApiFailure(404, 'invalid_link', 'This invitation link is not valid (a newer one may have replaced it)');
      return c.json({ invitation: view });
    });
}
