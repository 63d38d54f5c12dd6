// The person's own account, mounted at /api/account (and the pictures at /api/users):
//   GET    /                      profile (with the courses they teach)
//   PATCH  / {displayName}
//   PUT    /password {currentPassword, newPassword}   ends every other session
//   PUT    /avatar (image bytes) / DELETE /avatar
//   GET    /sessions / DELETE /sessions/:sessionId
//   DELETE / {password}           deletes (anonymises) the account; a teacher hands courses over first
//   GET    /api/users/:userId/avatar
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import Bowser from 'bowser';
import { z } from 'zod';
import { AccountDeleteBody, HandOverBody, PasswordChangeBody, ProfileUpdateBody, type ActiveSession } from '../../contracts/account.ts';
import { canEditCourse, type Permissions } from '../../auth/permissions.ts';
import type { Accounts } from '../../auth/accounts.ts';
import type { SessionStore } from '../../auth/session-store.ts';
import { RateLimiter } from '../../auth/rate-limiter.ts';
import { MAX_AVATAR_BYTES, AvatarError } from '../../accounts/avatar-image.ts';
import { ProfileError, type AccountProfile } from '../../accounts/account-profile.ts';
import type { Session } from '../../db/schema.ts';
import type { Logger } from '../../log.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, sendCookies, type AppEnv } from '../session.ts';
import type { SessionCookies } from '../../auth/session-cookies.ts';
import { jsonBody, readBoundedBytes } from '../validate.ts';
import { courseAccess } from './access.ts';

export interface ProfileRouteDeps {
  profile: AccountProfile;
  accounts: Accounts;
  sessions: SessionStore;
  cookies: SessionCookies;
  log: Logger;
}

function device(userAgent: string | null): string {
  if (!userAgent) return 'Unknown device';
  const ua = Bowser.parse(userAgent);
  const browser = [ua.browser.name, ua.browser.version?.split('.')[0]].filter(Boolean).join(' ');
  const os = [ua.os.name, ua.os.versionName ?? ua.os.version].filter(Boolean).join(' ');
  return [browser || 'Unknown browser', os && `on ${os}`].filter(Boolean).join(' ');
}

function sessionView(s: Session, currentId: string | undefined): ActiveSession {
  return {
    id: s.id,
    device: device(s.userAgent),
    ip: s.ip,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    current: s.id === currentId,
  };
}

async function mapped<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ProfileError) throw new ApiFailure(err.status, err.code, err.message);
    if (err instanceof AvatarError) throw new ApiFailure(400, 'invalid_image', err.message);
    throw err;
  }
}

const SessionId = z.string().regex(/^[0-9a-f]{64}$/);

export function profileRoutes(deps: ProfileRouteDeps) {
  // Guessing the current password is what these limit (one account's attempts, whichever session makes them).
  const passwordChecks = new RateLimiter({ max: 5, windowMs: 15 * 60_000 });
  const confirmPassword = async (userId: string, password: string): Promise<void> => {
    const limit = passwordChecks.hit(userId);
    if (!limit.allowed)
      throw new ApiFailure(429, 'rate_limited', `Too many attempts; try again in ${Math.ceil(limit.retryAfter / 60)} min`);
    if (!(await deps.accounts.checkPassword(userId, password)))
      throw new ApiFailure(403, 'wrong_password', 'That is not your current password');
    passwordChecks.reset(userId);
  };

  return new Hono<AppEnv>()
    .get('/', async (c) => c.json({ profile: await mapped(deps.profile.view(requireUser(c).id)) }))
    .patch('/', async (c) => {
      const user = requireUser(c);
      const { displayName } = await jsonBody(c, ProfileUpdateBody);
      await deps.profile.rename(user.id, displayName);
      return c.json({ profile: await deps.profile.view(user.id) });
    })
    .put('/password', async (c) => {
      const user = requireUser(c);
      const body = await jsonBody(c, PasswordChangeBody);
      await confirmPassword(user.id, body.currentPassword);
      await deps.accounts.setPassword(user.id, body.newPassword);
      await deps.sessions.invalidateOthers(user.id, c.get('session')!.id);
      deps.log.info({ userId: user.id }, 'password changed; other sessions ended');
      return c.json({ changed: true });
    })
    .put('/avatar', async (c) => {
      const user = requireUser(c);
      const bytes = await readBoundedBytes(c, MAX_AVATAR_BYTES);
      if (bytes.length === 0) throw new ApiFailure(400, 'invalid_image', 'Choose a picture to upload');
      const avatarUrl = await mapped(deps.profile.setAvatar(user.id, bytes));
      return c.json({ avatarUrl });
    })
    .delete('/avatar', async (c) => {
      await deps.profile.removeAvatar(requireUser(c).id);
      return c.json({ avatarUrl: null });
    })
    .get('/sessions', async (c) => {
      const user = requireUser(c);
      const current = c.get('session')?.id;
      return c.json({ sessions: (await deps.sessions.listFor(user.id)).map((s) => sessionView(s, current)) });
    })
    .delete('/sessions/:sessionId', async (c) => {
      const user = requireUser(c);
      const id = SessionId.safeParse(c.req.param('sessionId'));
      if (!id.success || !(await deps.sessions.revoke(user.id, id.data))) throw new ApiFailure(404, 'not_found', 'No such session');
      if (id.data === c.get('session')?.id) sendCookies(c, [deps.cookies.clear()]);
      return c.json({ revoked: true });
    })
    .delete('/', async (c) => {
      const user = requireUser(c);
      const { password } = await jsonBody(c, AccountDeleteBody);
      await confirmPassword(user.id, password);
      await mapped(deps.profile.delete(user.id));
      await deps.sessions.invalidateAllFor(user.id);
      sendCookies(c, [deps.cookies.clear()]);
      deps.log.info({ userId: user.id }, 'account deleted (anonymised)');
      return c.json({ deleted: true });
    });
}

export function avatarRoutes(deps: Pick<ProfileRouteDeps, 'profile'>) {
  return new Hono<AppEnv>().get('/:userId/avatar', async (c) => {
    const userId = z.uuid().safeParse(c.req.param('userId'));
    const file = userId.success ? await deps.profile.avatarFile(userId.data) : null;
    if (!file || !fs.existsSync(file)) throw new ApiFailure(404, 'not_found', 'No picture');
    return c.body(Readable.toWeb(fs.createReadStream(file)) as ReadableStream, 200, {
      'content-type': 'image/webp',
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
    });
  });
}

/** POST /api/courses/:courseId/handover {email}: the course and its classes go to another teacher. */
export function courseHandOverRoutes(deps: Pick<ProfileRouteDeps, 'profile' | 'log'> & { permissions: Permissions }) {
  return new Hono<AppEnv>().post('/:courseId/handover', async (c) => {
    const { course } = await courseAccess(
      deps.permissions,
      c,
      canEditCourse,
      'Only the course teacher or an admin may hand this course over',
    );
    const { email } = await jsonBody(c, HandOverBody);
    const to = await mapped(deps.profile.handOver(course, email));
    deps.log.info({ courseId: course.id, from: course.teacherId, to: to.teacherId }, 'course handed over');
    return c.json({ teacherId: to.teacherId, teacherName: to.displayName });
  });
}
