// The audit table: what admins and class moderators did, newest first, for the admins' view. Entries are
// written after the action succeeded; a failed write is logged, never undoes the action.
import { desc, inArray, lt } from 'drizzle-orm';
import type { AuditEntry } from '../contracts/admin.ts';
import type { Database } from '../db/client.ts';
import { auditEvents, users } from '../db/schema.ts';
import type { Logger } from '../log.ts';

export type AuditAction =
  | 'user.role_changed'
  | 'user.disabled'
  | 'user.enabled'
  | 'class.student_muted'
  | 'class.student_unmuted'
  | 'class.student_removed'
  | 'class.chat_deleted';

export interface AuditRecord {
  actorId: string;
  action: AuditAction;
  targetUserId?: string | undefined;
  classId?: string | undefined;
  detail?: Record<string, unknown>;
}

export const AUDIT_PAGE_SIZE = 50;

export class AuditLog {
  readonly #db: Database;
  readonly #log: Logger;

  constructor(db: Database, log: Logger) {
    this.#db = db;
    this.#log = log;
  }

  /** Keeps one entry; never throws (the action it records has happened). */
  async record(entry: AuditRecord): Promise<void> {
    try {
      await this.#db.insert(auditEvents).values({
        actorId: entry.actorId,
        action: entry.action,
        targetUserId: entry.targetUserId ?? null,
        classId: entry.classId ?? null,
        detail: entry.detail ?? {},
      });
    } catch (err) {
      this.#log.error({ err, audit: entry }, 'audit entry could not be written');
    }
  }

  /** The newest entries (before `before`, for the next page), with the names of the people they mention. */
  async list(options: { before?: Date | undefined; limit?: number } = {}): Promise<AuditEntry[]> {
    const limit = Math.min(options.limit ?? AUDIT_PAGE_SIZE, AUDIT_PAGE_SIZE);
    const rows = await this.#db
      .select()
      .from(auditEvents)
      .where(options.before ? lt(auditEvents.createdAt, options.before) : undefined)
      .orderBy(desc(auditEvents.createdAt))
      .limit(limit);
    const ids = [...new Set(rows.flatMap((r) => [r.actorId, r.targetUserId]).filter((id): id is string => !!id))];
    const names = new Map(
      ids.length
        ? (await this.#db.select({ id: users.id, name: users.displayName }).from(users).where(inArray(users.id, ids))).map((u) => [
            u.id,
            u.name,
          ])
        : [],
    );
    return rows.map((r) => ({
      id: r.id,
      at: r.createdAt.toISOString(),
      action: r.action,
      actor: r.actorId ? { id: r.actorId, displayName: names.get(r.actorId) ?? null } : null,
      target: r.targetUserId ? { id: r.targetUserId, displayName: names.get(r.targetUserId) ?? null } : null,
      classId: r.classId,
      detail: r.detail,
    }));
  }
}
