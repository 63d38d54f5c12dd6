// Accounts as admins manage them: find people, change a role, disable an account (it cannot log in; its
// sessions end, which closes its sockets on every process) or enable it again. Every change is audited.
import { and, count, desc, eq, ilike, isNull, or, type SQL } from 'drizzle-orm';
import type { AdminUser, AdminUserPage, AdminUserUpdateBody, UserRoleName } from '../contracts/admin.ts';
import type { Database } from '../db/client.ts';
import { users } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';
import type { SessionStore } from '../auth/session-store.ts';
import type { AuditLog } from './audit-log.ts';

export const ADMIN_PAGE_SIZE = 25;

export interface AdminAccountsOptions {
  db: Database;
  sessions: Pick<SessionStore, 'invalidateAllFor'>;
  audit: Pick<AuditLog, 'record'>;
}

const columns = {
  id: users.id,
  email: users.email,
  displayName: users.displayName,
  role: users.role,
  emailVerifiedAt: users.emailVerifiedAt,
  disabledAt: users.disabledAt,
  createdAt: users.createdAt,
};

type Row = { [K in keyof typeof columns]: (typeof users.$inferSelect)[K extends 'id' ? 'id' : K] };

const toAdminUser = (r: Row): AdminUser => ({
  id: r.id,
  email: r.email,
  displayName: r.displayName,
  role: r.role,
  emailVerified: r.emailVerifiedAt !== null,
  disabled: r.disabledAt !== null,
  createdAt: r.createdAt.toISOString(),
});

/** `%` and `_` in what a person typed are literal characters, not patterns. */
const likePattern = (q: string): string => `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;

export class AdminAccounts {
  readonly #o: AdminAccountsOptions;

  constructor(options: AdminAccountsOptions) {
    this.#o = options;
  }

  async list(query: { q?: string | undefined; role?: UserRoleName | undefined; page: number }): Promise<AdminUserPage> {
    const filters: SQL[] = [isNull(users.deletedAt)];
    if (query.q) filters.push(or(ilike(users.displayName, likePattern(query.q)), ilike(users.email, likePattern(query.q)))!);
    if (query.role) filters.push(eq(users.role, query.role));
    const where = and(...filters);
    const [rows, [total]] = await Promise.all([
      this.#o.db
        .select(columns)
        .from(users)
        .where(where)
        .orderBy(desc(users.createdAt), users.id)
        .limit(ADMIN_PAGE_SIZE)
        .offset((query.page - 1) * ADMIN_PAGE_SIZE),
      this.#o.db.select({ n: count() }).from(users).where(where),
    ]);
    return { users: rows.map(toAdminUser), total: total?.n ?? 0, page: query.page, pageSize: ADMIN_PAGE_SIZE };
  }

  /** Changes a role and/or the disabled state; an admin cannot demote or disable themself (no lock-out). */
  async update(actorId: string, userId: string, change: AdminUserUpdateBody): Promise<AdminUser> {
    if (userId === actorId && ((change.role !== undefined && change.role !== 'admin') || change.disabled))
      throw new DomainError('forbidden', 'You cannot demote or disable your own account');
    const [before] = await this.#o.db
      .select(columns)
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)))
      .limit(1);
    if (!before) throw new DomainError('not_found', 'No such account');
    const set: Partial<typeof users.$inferInsert> = {};
    if (change.role !== undefined && change.role !== before.role) set.role = change.role;
    if (change.disabled !== undefined && change.disabled !== (before.disabledAt !== null))
      set.disabledAt = change.disabled ? new Date() : null;
    if (Object.keys(set).length === 0) return toAdminUser(before);
    const [after] = await this.#o.db.update(users).set(set).where(eq(users.id, userId)).returning(columns);
    if (!after) throw new DomainError('not_found', 'No such account');
    const who = { displayName: before.displayName, email: before.email };
    if (set.role !== undefined)
      await this.#o.audit.record({
        actorId,
        action: 'user.role_changed',
        targetUserId: userId,
        detail: { ...who, from: before.role, to: after.role },
      });
    if (set.disabledAt !== undefined) {
      // Disabled: every session ends now, which disconnects the account's sockets wherever they are.
      if (after.disabledAt) await this.#o.sessions.invalidateAllFor(userId);
      await this.#o.audit.record({
        actorId,
        action: after.disabledAt ? 'user.disabled' : 'user.enabled',
        targetUserId: userId,
        detail: who,
      });
    }
    return toAdminUser(after);
  }
}
