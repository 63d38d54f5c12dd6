// Signed URLs for uploaded lessons' HLS, with the HLS bridge's token format (server/hls/media-tokens.ts):
// the token's scope is the lesson (kind 'lesson', so no class or recording token opens it) and the viewer.
// A valid token is not enough on its own: its holder must still be allowed to watch the lesson (still
// enrolled, the course still published), re-checked through a short cache as the class media routes do.
import path from 'node:path';
import type { Accounts } from '../auth/accounts.ts';
import { AccessCache } from '../auth/access-cache.ts';
import { canWatchCourse, type Permissions } from '../auth/permissions.ts';
import type { MediaTokens, MediaScope } from '../hls/media-tokens.ts';

const scope = (lessonId: string): MediaScope => ({ kind: 'lesson', id: lessonId });

/** `hls/master.m3u8`, `hls/720p/index.m3u8`, `hls/720p/seg-00001.ts`: nothing else is ever served. */
const SAFE_FILE = /^hls\/(?:[a-z0-9]+\/)?[a-z0-9-]+\.(?:m3u8|ts)$/;

export interface LessonMediaOptions {
  /** The signer the HLS service uses too: one secret, scopes kept apart by their kind */
  tokens: MediaTokens;
  dataDir: string;
  permissions: Permissions;
  accounts: Accounts;
}

export class LessonMedia {
  readonly #tokens: MediaTokens;
  readonly #dataDir: string;
  readonly #permissions: Permissions;
  readonly #accounts: Accounts;
  readonly #access = new AccessCache();

  constructor(options: LessonMediaOptions) {
    this.#tokens = options.tokens;
    this.#dataDir = options.dataDir;
    this.#permissions = options.permissions;
    this.#accounts = options.accounts;
  }

  /** URL of the lesson's master playlist for this viewer, from the stored relative path. */
  playbackUrl(lessonId: string, userId: string): string {
    const { token } = this.#tokens.sign(scope(lessonId), userId);
    return `/media/lessons/${lessonId}/hls/master.m3u8?token=${encodeURIComponent(token)}`;
  }

  /** The user the token was issued to, when it is a valid, unexpired token for this lesson; else null. */
  verify(lessonId: string, token: string | undefined): { userId: string } | null {
    const check = this.#tokens.verify(token, scope(lessonId));
    return check.ok ? { userId: check.claims.userId } : null;
  }

  /** May this user (still) watch the lesson: its teacher, an admin or an enrolled student? Cached briefly. */
  mayWatch(userId: string, lessonId: string): Promise<boolean> {
    return this.#access.check(userId, lessonId, async () => {
      const user = await this.#accounts.byId(userId);
      const access = user ? await this.#permissions.lessonRole(user, lessonId) : null;
      return !!access && canWatchCourse(access.role);
    });
  }

  /** Forgets cached decisions of one user (their enrollment changed), or of everyone. */
  forgetAccess(userId?: string): void {
    this.#access.forget(userId);
  }

  /** Absolute path of a requested file, or null when the name is not one we serve (the caller reads it: a missing file is its 404). */
  resolve(lessonId: string, file: string): string | null {
    if (!SAFE_FILE.test(file)) return null;
    return path.join(this.#dataDir, 'lessons', lessonId, file);
  }

  /** Playlists name their children relatively; each child URL gets the token so hls.js can follow it. */
  static tokenisePlaylist(text: string, token: string): string {
    return text
      .split('\n')
      .map((line) =>
        line && !line.startsWith('#') ? `${line.trim()}${line.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : line,
      )
      .join('\n');
  }
}
