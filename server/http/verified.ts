// Enrolling and teaching need a confirmed address (LECTERN_REQUIRE_VERIFIED_EMAIL, on by default): an
// unconfirmed account may log in, look around and confirm, but not act on anyone else's behalf yet.
import type { SessionUser } from '../auth/session-store.ts';
import { ApiFailure } from './errors.ts';

export function requireVerifiedEmail(user: SessionUser, required: boolean, doing: 'enroll' | 'teach'): void {
  if (user.emailVerified || !required) return;
  throw new ApiFailure(
    403,
    'email_unverified',
    `Confirm your email address before you ${doing}: follow the link we mailed you, or send a new one from your profile.`,
  );
}
