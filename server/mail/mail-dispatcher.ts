// Sends what the outbox holds: claims due rows, skips addresses that opted out of the row's topic, asks the
// kind's composer for the words (or for nothing: a class cancelled meanwhile, no such account), adds the
// one-click unsubscribe headers (RFC 8058) to notices, and hands the message to the transport. A message the
// server did not take goes back to pending with exponential back-off; one still unsent after the give-up age,
// or refused for good (5xx), is marked failed. Owns its poll and purge timers: close() stops them and waits
// for the batch in hand.
import type { Logger } from '../log.ts';
import type { MailOutboxRow } from '../db/schema.ts';
import { MAIL_KINDS, type MailKind, type MailTopic } from '../contracts/mail.ts';
import type { MailContent } from './mail-layout.ts';
import type { MailOutbox } from './mail-outbox.ts';
import type { MailPreferences } from './mail-preferences.ts';
import { MailDeliveryError, type MailTransport } from './mail-transport.ts';

export interface MailComposeContext {
  /** Public origin for links, e.g. https://class.example.org */
  origin: string;
  /** The page that turns this message's topic off (notices only). */
  unsubscribeUrl?: string;
}

/** Words for one outbox row, or a reason why there is nothing to send any more. */
export type MailComposer = (row: MailOutboxRow, context: MailComposeContext) => Promise<MailContent | { drop: string }>;

export interface MailDispatcherOptions {
  outbox: MailOutbox;
  transport: MailTransport;
  preferences: MailPreferences;
  /** Resolved when a message is composed (the server knows its own address only once it listens). */
  origin: () => string;
  from: string;
  retrySeconds: number;
  giveUpHours: number;
  log: Logger;
  pollMs?: number;
  batchSize?: number;
  now?: () => number;
}

const LEASE_MS = 2 * 60_000;
const MAX_BACKOFF_S = 3600;
const KEEP_FINISHED_MS = 30 * 24 * 3600_000;

export class MailDispatcher {
  readonly #o: MailDispatcherOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #composers = new Map<MailKind, MailComposer>();
  readonly #domain: string;
  #poll: NodeJS.Timeout | undefined;
  #purge: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #onEnqueued = () => this.kick();

  constructor(options: MailDispatcherOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#domain = /@([^>\s]+)>?\s*$/.exec(options.from)?.[1] ?? 'lectern.invalid';
  }

  /** The composer of one kind of message; each feature registers its own. */
  register(kind: MailKind, composer: MailComposer): void {
    this.#composers.set(kind, composer);
  }

  start(): void {
    if (this.#closed || this.#poll) return;
    this.#o.outbox.on('enqueued', this.#onEnqueued);
    this.#poll = setInterval(() => this.kick(), this.#o.pollMs ?? 5000);
    this.#purge = setInterval(() => {
      this.#o.outbox.purgeFinished(KEEP_FINISHED_MS).catch((err: unknown) => this.#log.warn({ err }, 'mail purge failed'));
    }, 3600_000);
    this.#purge.unref();
    this.kick();
  }

  /** Looks for due messages now (after an enqueue, or on the poll). */
  kick(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump()
      .catch((err: unknown) => this.#log.error({ err }, 'mail dispatch failed'))
      .finally(() => {
        this.#pumping = undefined;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Sends everything due now and resolves when done (tests and shutdown use it). */
  async drain(): Promise<void> {
    while (this.#pumping) await this.#pumping;
    if (this.#closed) return;
    this.kick();
    while (this.#pumping) await this.#pumping;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#poll);
    clearInterval(this.#purge);
    this.#o.outbox.off('enqueued', this.#onEnqueued);
    while (this.#pumping) await this.#pumping;
    this.#o.transport.close();
  }

  async #pump(): Promise<void> {
    const size = this.#o.batchSize ?? 20;
    for (;;) {
      const rows = await this.#o.outbox.claim(size, LEASE_MS);
      for (const row of rows) await this.#deliver(row);
      if (rows.length < size || this.#closed) return;
    }
  }

  async #deliver(row: MailOutboxRow): Promise<void> {
    const log = this.#log.child({ mailId: row.id, kind: row.kind, attempt: row.attempts });
    const kind = row.kind as MailKind;
    const topic: MailTopic | null = MAIL_KINDS[kind] ?? null;
    if (topic && (await this.#o.preferences.optedOut(row.toAddress, topic))) {
      await this.#o.outbox.markDropped(row, `the recipient turned ${topic} off`);
      return;
    }
    const composer = this.#composers.get(kind);
    if (!composer) return this.#retryOrFail(row, `no composer for mail kind ${row.kind}`, log);

    const origin = this.#o.origin();
    const token = topic ? this.#o.preferences.unsubscribeToken(row.toAddress, topic) : undefined;
    let content: MailContent | { drop: string };
    try {
      content = await composer(row, {
        origin,
        ...(token ? { unsubscribeUrl: `${origin}/unsubscribe?token=${encodeURIComponent(token)}` } : {}),
      });
    } catch (err) {
      log.error({ err }, 'composing mail failed');
      return this.#retryOrFail(row, `composing failed: ${(err as Error).message}`, log);
    }
    if ('drop' in content) {
      log.info({ reason: content.drop }, 'mail dropped');
      await this.#o.outbox.markDropped(row, content.drop);
      return;
    }
    const headers: Record<string, string> = {};
    if (token) {
      // RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to this address, without a page in between.
      headers['List-Unsubscribe'] = `<${origin}/mail/unsubscribe?token=${encodeURIComponent(token)}>`;
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    }
    try {
      await this.#o.transport.send({
        messageId: `<${row.id}@${this.#domain}>`,
        from: this.#o.from,
        to: row.toAddress,
        subject: content.subject,
        text: content.text,
        html: content.html,
        headers,
      });
    } catch (err) {
      const permanent = err instanceof MailDeliveryError && err.permanent;
      log.warn({ err, permanent }, 'mail not accepted');
      if (permanent) return this.#o.outbox.markFailed(row, (err as Error).message);
      return this.#retryOrFail(row, (err as Error).message, log);
    }
    await this.#o.outbox.markSent(row);
    log.info({ via: this.#o.transport.kind }, 'mail sent');
  }

  async #retryOrFail(row: MailOutboxRow, error: string, log: Logger): Promise<void> {
    const now = this.#now();
    if (now - row.createdAt.getTime() > this.#o.giveUpHours * 3600_000) {
      log.error({ error }, 'mail given up');
      return this.#o.outbox.markFailed(row, `given up after ${row.attempts} attempts: ${error}`);
    }
    // Exponential back-off with jitter, so many rows failing together do not retry in lockstep.
    const seconds = Math.min(this.#o.retrySeconds * 2 ** Math.max(0, row.attempts - 1), MAX_BACKOFF_S) * (0.8 + Math.random() * 0.4);
    await this.#o.outbox.retryAt(row, new Date(now + seconds * 1000), error);
  }
}
