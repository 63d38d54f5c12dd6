// Sessions as Lucia's guide describes them: a random token goes to the client, only its SHA-256 is stored;
// sessions slide (extended when past half their life) and expire server-side. Ending a session (logout,
// expiry) is announced with `invalidate`, so that whatever else it authenticated (open sockets) ends too.
import { EventEmitter } from 'node:events';
import { and, desc, eq, gt, lt, ne } from 'drizzle-orm';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import type { Database } from '../db/client.ts';
import { sessions, users, type Session, type User } from '../db/schema.ts';
import { sessionUserColumns } from './accounts.ts';

export type SessionUser = Pick<User, 'id' | 'email' | 'displayName' | 'role'> & { emailVerified: boolean };
export interface ValidatedSession {
  session: Session;
  user: SessionUser;
  /** True when the expiry moved, so the cookie should be sent again. */
  refreshed: boolean;
}

export { SESSION_COOKIE } from '../contracts/auth.ts';

export function generateSessionToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

export function sessionIdFromToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export interface SessionStoreEvents {
  /** These sessions no longer exist (logged out, expired or revoked). */
  invalidate: [sessionIds: string[]];
}

const LAST_SEEN_PRECISION_MS = 5 * 60_000;

export class SessionStore extends EventEmitter<SessionStoreEvents> {
  readonly #db: Database;
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(db: Database, options: { days: number; now?: () => number }) {
    super();
    this.#db = db;
    this.#lifetimeMs = options.days * 24 * 3600 * 1000;
    this.#now = options.now ?? Date.now;
  }

  get lifetimeMs(): number {
    return this.#lifetimeMs;
  }

  async create(
    userId: string,
    meta: { ip?: string | undefined; userAgent?: string | undefined } = {},
  ): Promise<{ token: string; session: Session }> {
    const token = generateSessionToken();
    const [session] = await this.#db
      .insert(sessions)
      .values({
        id: sessionIdFromToken(token),
        userId,
        expiresAt: new Date(this.#now() + this.#lifetimeMs),
        ip: meta.ip ?? null,
        userAgent: meta.userAgent?.slice(0, 400) ?? null,
        lastSeenAt: new Date(this.#now()),
      })
      .returning();
    return { token, session: session! };
  }

  async validate(token: string): Promise<ValidatedSession | null> {
    if (!/^[a-z2-7]{32}$/.test(token)) return null;
    const id = sessionIdFromToken(token);
    const rows = await this.#db
      .select({ session: sessions, user: sessionUserColumns, disabledAt: users.disabledAt })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.id, id))
      .limit(1);
    const row = rows[0];
    if (!row) return null;
    const now = this.#now();
    // A disabled account keeps no session, however it got one (disabling ends them; this closes any gap).
    if (row.session.expiresAt.getTime() <= now || row.disabledAt) {
      await this.#db.delete(sessions).where(eq(sessions.id, id));
      this.emit('invalidate', [id]);
      return null;
    }
    let refreshed = false;
    if (row.session.expiresAt.getTime() - now < this.#lifetimeMs / 2) {
      const expiresAt = new Date(now + this.#lifetimeMs);
      await this.#db
        .update(sessions)
        .set({ expiresAt, lastSeenAt: new Date(now) })
        .where(eq(sessions.id, id));
      row.session.expiresAt = expiresAt;
      refreshed = true;
    } else if (now - row.session.lastSeenAt.getTime() > LAST_SEEN_PRECISION_MS) {
      // "Last seen" for the sessions list, written at most every few minutes per session.
      await this.#db
        .update(sessions)
        .set({ lastSeenAt: new Date(now) })
        .where(eq(sessions.id, id));
    }
    return { session: row.session, user: row.user, refreshed };
  }

  async invalidate(sessionId: string): Promise<void> {
    await this.#db.delete(sessions).where(eq(sessions.id, sessionId));
    this.emit('invalidate', [sessionId]);
  }

  /** The user's live sessions, most recently seen first. */
  listFor(userId: string): Promise<Session[]> {
    return this.#db
      .select()
      .from(sessions)
      .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, new Date(this.#now()))))
      .orderBy(desc(sessions.lastSeenAt));
  }

  /** Ends one of the user's sessions; false when it is not theirs (or already gone). */
  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const gone = await this.#db
      .delete(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)))
      .returning({ id: sessions.id });
    if (gone.length) this.emit('invalidate', [sessionId]);
    return gone.length > 0;
  }

  /** Ends every session of the user except `keep` (after a password change). */
  async invalidateOthers(userId: string, keep: string): Promise<void> {
    const gone = await this.#db
      .delete(sessions)
      .where(and(eq(sessions.userId, userId), ne(sessions.id, keep)))
      .returning({ id: sessions.id });
    if (gone.length)
      this.emit(
        'invalidate',
        gone.map((s) => s.id),
      );
  }

  async invalidateAllFor(userId: string): Promise<void> {
    const gone = await this.#db.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id });
    if (gone.length)
      this.emit(
        'invalidate',
        gone.map((s) => s.id),
      );
  }

  /** Removes expired rows; called periodically by the server. */
  async purgeExpired(): Promise<number> {
    const gone = await this.#db
      .delete(sessions)
      .where(lt(sessions.expiresAt, new Date(this.#now())))
      .returning({ id: sessions.id });
    if (gone.length)
      this.emit(
        'invalidate',
        gone.map((s) => s.id),
      );
    return gone.length;
  }

  async countActive(userId: string): Promise<number> {
    const rows = await this.#db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), gt(sessions.expiresAt, new Date(this.#now()))));
    return rows.length;
  }
}
