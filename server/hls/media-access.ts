// Who may open which media: one signer and one access memo for every kind of media (a live class, a
// recording, an uploaded lesson). A media URL carries a short-lived token naming what it opens and who it was
// issued to (media-tokens.ts); a valid token is not enough on its own: its holder must still be allowed to
// watch (still enrolled, not removed from the class), re-checked through a memo of a few seconds because
// players fetch a playlist every second (auth/access-cache.ts says why the memo is short).
import type { Accounts } from '../auth/accounts.ts';
import { AccessCache } from '../auth/access-cache.ts';
import { canWatchCourse, type Permissions } from '../auth/permissions.ts';
import { MediaTokens, type MediaScope } from './media-tokens.ts';
import { CodedError } from '../domain-error.ts';

/** What the holder of a token must still be allowed into: a recording is watched by its class's members. */
export type MediaAudience = { kind: 'class'; classId: string } | { kind: 'lesson'; lessonId: string };

export type MediaDenial = 'token_expired' | 'token_invalid' | 'forbidden';

export class MediaDenied extends CodedError<MediaDenial> {}

export interface MediaAccessOptions {
  /** The signer: several processes serving media share its secret. */
  tokens: MediaTokens;
  permissions: Permissions;
  accounts: Accounts;
  cache?: AccessCache;
}

export class MediaAccess {
  readonly tokens: MediaTokens;
  readonly #permissions: Permissions;
  readonly #accounts: Accounts;
  readonly #cache: AccessCache;

  constructor(options: MediaAccessOptions) {
    this.tokens = options.tokens;
    this.#permissions = options.permissions;
    this.#accounts = options.accounts;
    this.#cache = options.cache ?? new AccessCache();
  }

  sign(scope: MediaScope, userId: string): { token: string; expiresAt: Date } {
    return this.tokens.sign(scope, userId);
  }

  /**
   * Checks that `token` opens `scope` and that its holder may still watch `audience`; returns the holder's
   * user id, or throws MediaDenied.
   */
  async open(token: string | undefined, scope: MediaScope, audience: MediaAudience): Promise<string> {
    const check = this.tokens.verify(token, scope);
    if (!check.ok) {
      if (check.reason === 'expired') throw new MediaDenied('token_expired', 'This media link has expired; reload the page');
      throw new MediaDenied('token_invalid', 'This media link is not valid');
    }
    const userId = check.claims.userId;
    if (audience.kind === 'class' && !(await this.mayWatchClass(userId, audience.classId)))
      throw new MediaDenied('forbidden', 'You are not allowed into this class');
    if (audience.kind === 'lesson' && !(await this.mayWatchLesson(userId, audience.lessonId)))
      throw new MediaDenied('forbidden', 'You may no longer watch this lesson');
    return userId;
  }

  /** May this user watch this class live (and its recordings)? Remembered briefly. */
  mayWatchClass(userId: string, classId: string): Promise<boolean> {
    return this.#cache.check(userId, `class:${classId}`, async () => {
      const user = await this.#accounts.byId(userId);
      return !!user && !!(await this.#permissions.classRole(user, classId));
    });
  }

  /** May this user (still) watch the lesson: its teacher, an admin or an enrolled student? Remembered briefly. */
  mayWatchLesson(userId: string, lessonId: string): Promise<boolean> {
    return this.#cache.check(userId, `lesson:${lessonId}`, async () => {
      const user = await this.#accounts.byId(userId);
      const access = user ? await this.#permissions.lessonRole(user, lessonId) : null;
      return !!access && canWatchCourse(access.role);
    });
  }

  /** Forgets remembered decisions of one user (their enrollment changed, they were removed), or of everyone. */
  forget(userId?: string): void {
    this.#cache.forget(userId);
  }
}
