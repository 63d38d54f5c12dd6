// One-time tokens for links sent by mail (verify an address, reset a password). Made like session tokens:
// 160 random bits to the mail, only their SHA-256 in the database; using one deletes it in the same
// statement, so two clicks (or a replay) cannot both succeed.
import { and, eq, lt } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { accountTokens, type AccountTokenPurpose } from '../db/schema.ts';
import { generateSessionToken, sessionIdFromToken } from '../auth/session-store.ts';

export type TokenUse = { ok: true; userId: string } | { ok: false; reason: 'invalid' | 'expired' };

export class AccountTokens {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /** A fresh token for the user; earlier ones of the same purpose stay valid until used or expired. */
  async issue(userId: string, purpose: AccountTokenPurpose, ttlMs: number): Promise<string> {
    const token = generateSessionToken();
    await this.#db
      .insert(accountTokens)
      .values({ id: sessionIdFromToken(token), userId, purpose, expiresAt: new Date(this.#now() + ttlMs) });
    return token;
  }

  /** Uses the token up: the user it was made for, or why not. */
  async consume(token: string, purpose: AccountTokenPurpose): Promise<TokenUse> {
    if (!/^[a-z2-7]{32}$/.test(token)) return { ok: false, reason: 'invalid' };
    const [row] = await this.#db
      .delete(accountTokens)
      .where(and(eq(accountTokens.id, sessionIdFromToken(token)), eq(accountTokens.purpose, purpose)))
      .returning();
    if (!row) return { ok: false, reason: 'invalid' };
    if (row.expiresAt.getTime() <= this.#now()) return { ok: false, reason: 'expired' };
    return { ok: true, userId: row.userId };
  }

  /** Voids every outstanding token of this purpose (after a reset, the other reset links die with it). */
  async revokeAll(userId: string, purpose: AccountTokenPurpose): Promise<void> {
    await this.#db.delete(accountTokens).where(and(eq(accountTokens.userId, userId), eq(accountTokens.purpose, purpose)));
  }

  async purgeExpired(): Promise<void> {
    await this.#db.delete(accountTokens).where(lt(accountTokens.expiresAt, new Date(this.#now())));
  }
}
