// The persistent queue of outgoing mail (table mail_outbox). Features enqueue what to say (a kind and its
// parameters) and to whom, inside their own transaction when they have one; the MailDispatcher claims due
// rows, composes and sends them. Nothing here talks SMTP: a restart or an SMTP outage leaves the rows where
// they are, and claiming with FOR UPDATE SKIP LOCKED under a lease keeps two processes off the same row.
import { EventEmitter } from 'node:events';
import { and, asc, eq, inArray, lt, lte, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { mailOutbox, type MailOutboxRow } from '../db/schema.ts';
import type { MailKind } from '../contracts/mail.ts';

export interface OutboxItem {
  kind: MailKind;
  to: string;
  params?: Record<string, unknown>;
  /** Enqueuing the same key twice keeps the first row only ("at most once" notices). */
  dedupeKey?: string;
}

/** The handle enqueue() writes with: the database, or a transaction of it. */
export type OutboxWriter = Pick<Database, 'insert'>;

export interface MailOutboxEvents {
  /** New rows were written by this process (the dispatcher wakes up instead of waiting for its next poll). */
  enqueued: [count: number];
}

export class MailOutbox extends EventEmitter<MailOutboxEvents> {
  readonly #db: Database;
  readonly #now: () => number;

  constructor(db: Database, options: { now?: () => number } = {}) {
    super();
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /** Queues messages; returns how many were new (a repeated dedupe key is skipped). */
  async enqueue(items: OutboxItem | OutboxItem[], writer: OutboxWriter = this.#db): Promise<number> {
    const list = Array.isArray(items) ? items : [items];
    if (list.length === 0) return 0;
    const rows = await writer
      .insert(mailOutbox)
      .values(
        list.map((i) => ({
          kind: i.kind,
          toAddress: i.to.toLowerCase(),
          params: i.params ?? {},
          dedupeKey: i.dedupeKey ?? null,
          nextAttemptAt: new Date(this.#now()),
        })),
      )
      .onConflictDoNothing()
      .returning({ id: mailOutbox.id });
    // Inside a caller's transaction the rows are not visible before it commits; the dispatcher's next poll
    // (or this nudge, if it comes late enough) picks them up either way.
    if (rows.length) queueMicrotask(() => this.emit('enqueued', rows.length));
    return rows.length;
  }

  /**
   * Takes up to `limit` due rows for this sender: pending ones whose time has come, and rows another sender
   * claimed but whose lease ran out (it crashed mid-send). Each claim counts as an attempt.
   */
  async claim(limit: number, leaseMs: number): Promise<MailOutboxRow[]> {
    const now = new Date(this.#now());
    const due = this.#db
      .select({ id: mailOutbox.id })
      .from(mailOutbox)
      .where(
        or(
          and(eq(mailOutbox.status, 'pending'), lte(mailOutbox.nextAttemptAt, now)),
          and(eq(mailOutbox.status, 'sending'), lte(mailOutbox.leaseUntil, now)),
        ),
      )
      .orderBy(asc(mailOutbox.nextAttemptAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    return this.#db
      .update(mailOutbox)
      .set({
        status: 'sending',
        attempts: sql`${mailOutbox.attempts} + 1`,
        leaseUntil: new Date(now.getTime() + leaseMs),
        claimId: crypto.randomUUID(),
      })
      .where(inArray(mailOutbox.id, due))
      .returning();
  }

  markSent(row: MailOutboxRow): Promise<void> {
    return this.#finish(row, { status: 'sent', sentAt: new Date(this.#now()), lastError: null });
  }

  /** Back to pending, to be tried again at `at`. */
  retryAt(row: MailOutboxRow, at: Date, error: string): Promise<void> {
    return this.#finish(row, { status: 'pending', nextAttemptAt: at, lastError: error.slice(0, 1000) });
  }

  /** Given up: the SMTP server refused it for good, or it stayed unsendable too long. */
  markFailed(row: MailOutboxRow, error: string): Promise<void> {
    return this.#finish(row, { status: 'failed', lastError: error.slice(0, 1000) });
  }

  /** Nothing to send after all (the class was cancelled meanwhile, the person opted out, no such account). */
  markDropped(row: MailOutboxRow, reason: string): Promise<void> {
    return this.#finish(row, { status: 'dropped', lastError: reason.slice(0, 1000) });
  }

  /** Only the claim that holds the row may finish it (a sender whose lease ran out lost it to another). */
  async #finish(row: MailOutboxRow, patch: Partial<MailOutboxRow>): Promise<void> {
    if (!row.claimId) throw new Error(`mail ${row.id} was not claimed`);
    await this.#db
      .update(mailOutbox)
      .set({ ...patch, leaseUntil: null, claimId: null })
      .where(and(eq(mailOutbox.id, row.id), eq(mailOutbox.claimId, row.claimId)));
  }

  /** Deletes finished rows (sent, dropped, failed) older than `age` ms; returns how many. */
  async purgeFinished(ageMs: number): Promise<number> {
    const gone = await this.#db
      .delete(mailOutbox)
      .where(and(inArray(mailOutbox.status, ['sent', 'dropped', 'failed']), lt(mailOutbox.createdAt, new Date(this.#now() - ageMs))))
      .returning({ id: mailOutbox.id });
    return gone.length;
  }

  /** Rows for one address, oldest first (the account pages and tests read delivery state through it). */
  forAddress(address: string): Promise<MailOutboxRow[]> {
    return this.#db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, address.toLowerCase())).orderBy(asc(mailOutbox.createdAt));
  }
}
