// Notices to the students enrolled in a course: "starts in 15 minutes" before a scheduled class, "moved" and
// "cancelled" when the teacher changes it, and "the replay is ready" when a class's recording is published.
// A periodic scan (every process runs one) finds classes entering the reminder window and replays that became
// ready; each group is fanned out once (a notice_fanouts row written in the transaction that queues the
// messages), and each message once per person (its dedupe key). Messages are composed when sent, so a
// reminder of a class cancelled or moved meanwhile is dropped, and a person who left the course gets nothing.
import { and, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { courses, enrollments, liveClasses, noticeFanouts, recordings, users, type LiveClass, type MailOutboxRow } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { MailKind } from '../contracts/mail.ts';
import type { MailOutbox, OutboxWriter } from '../mail/mail-outbox.ts';
import type { MailComposer, MailDispatcher } from '../mail/mail-dispatcher.ts';
import { renderMail } from '../mail/mail-layout.ts';
import { en } from '../mail/messages.ts';

export interface ClassNoticesOptions {
  db: Database;
  outbox: MailOutbox;
  /** How long before a class its reminder goes out */
  reminderMinutes: number;
  log: Logger;
  scanMs?: number;
  now?: () => number;
}

/** Replays older than this when first seen (e.g. a server that was down for days) are not announced any more. */
const REPLAY_NOTICE_HOURS = 48;
/** A reminder still unsent this long after its class started is pointless. */
const REMINDER_STALE_MS = 5 * 60_000;

/** "Saturday 5 December 2026, 10:00 (Europe/Paris)": the class's wall time in the zone it was scheduled in. */
export function classTime(at: Date, timeZone: string): string {
  const text = new Intl.DateTimeFormat('en-GB', { dateStyle: 'full', timeStyle: 'short', timeZone }).format(at);
  return `${text} (${timeZone})`;
}

export class ClassNotices {
  readonly #o: ClassNoticesOptions;
  readonly #db: Database;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #closed = false;

  constructor(options: ClassNoticesOptions) {
    this.#o = options;
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
  }

  registerWith(dispatcher: MailDispatcher): void {
    dispatcher.register('class_reminder', this.#composeReminder);
    dispatcher.register('class_moved', this.#composeMoved);
    dispatcher.register('class_cancelled', this.#composeCancelled);
    dispatcher.register('replay_ready', this.#composeReplay);
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.scanSoon(), this.#o.scanMs ?? 30_000);
    this.scanSoon();
  }

  /** Runs a scan now unless one is running (a recording just became ready, or the timer). */
  scanSoon(): void {
    if (this.#closed || this.#scanning) return;
    this.#scanning = this.scan()
      .catch((err: unknown) => this.#o.log.error({ err }, 'notice scan failed'))
      .finally(() => (this.#scanning = undefined));
  }

  /** Queues the reminders of classes entering the window and the notices of replays that became ready. */
  async scan(): Promise<void> {
    const now = new Date(this.#now());
    const windowEnd = new Date(now.getTime() + this.#o.reminderMinutes * 60_000);
    const due = await this.#db
      .select({ id: liveClasses.id, courseId: liveClasses.courseId, scheduledAt: liveClasses.scheduledAt })
      .from(liveClasses)
      .innerJoin(courses, eq(courses.id, liveClasses.courseId))
      .where(
        and(
          eq(liveClasses.status, 'scheduled'),
          gt(liveClasses.scheduledAt, now),
          lte(liveClasses.scheduledAt, windowEnd),
          eq(courses.published, true),
          sql`not exists (select 1 from ${noticeFanouts} where ${noticeFanouts.subject} = 'class_reminder:' || ${liveClasses.id})`,
        ),
      );
    for (const k of due) {
      await this.#fanOut(`class_reminder:${k.id}`, 'class_reminder', k.courseId, (userId) => ({
        params: { classId: k.id, userId, scheduledAt: k.scheduledAt.toISOString() },
        dedupeKey: `class_reminder:${k.id}:${userId}`,
      }));
    }
    const ready = await this.#db
      .select({ id: recordings.id, courseId: liveClasses.courseId })
      .from(recordings)
      .innerJoin(liveClasses, eq(liveClasses.id, recordings.classId))
      .where(
        and(
          eq(recordings.status, 'ready'),
          gt(recordings.readyAt, new Date(now.getTime() - REPLAY_NOTICE_HOURS * 3600_000)),
          sql`not exists (select 1 from ${noticeFanouts} where ${noticeFanouts.subject} = 'replay_ready:' || ${recordings.id})`,
        ),
      );
    for (const r of ready) {
      await this.#fanOut(`replay_ready:${r.id}`, 'replay_ready', r.courseId, (userId) => ({
        params: { recordingId: r.id, userId },
        dedupeKey: `replay_ready:${r.id}:${userId}`,
      }));
    }
  }

  /** The teacher cancelled the class: everyone enrolled hears it (a pending reminder is dropped when sent). */
  async classCancelled(liveClass: LiveClass): Promise<void> {
    await this.#toEnrolled('class_cancelled', liveClass.courseId, this.#db, (userId) => ({
      params: { classId: liveClass.id, userId },
      dedupeKey: `class_cancelled:${liveClass.id}:${userId}`,
    }));
  }

  /** The teacher changed the class: if its start moved, everyone enrolled hears the new time. */
  async classChanged(before: LiveClass, after: LiveClass): Promise<void> {
    if (after.status !== 'scheduled' || before.scheduledAt.getTime() === after.scheduledAt.getTime()) return;
    const at = after.scheduledAt.toISOString();
    await this.#toEnrolled('class_moved', after.courseId, this.#db, (userId) => ({
      params: { classId: after.id, userId, scheduledAt: at, was: before.scheduledAt.toISOString() },
      dedupeKey: `class_moved:${after.id}:${at}:${userId}`,
    }));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#scanning;
  }

  /** Queues one group's messages once, whichever process gets there first. */
  async #fanOut(
    subject: string,
    kind: MailKind,
    courseId: string,
    message: (userId: string) => { params: Record<string, unknown>; dedupeKey: string },
  ): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const [mine] = await tx.insert(noticeFanouts).values({ subject }).onConflictDoNothing().returning();
      if (!mine) return;
      const count = await this.#toEnrolled(kind, courseId, tx as unknown as Database, message);
      this.#o.log.info({ subject, recipients: count }, 'notice queued');
    });
  }

  async #toEnrolled(
    kind: MailKind,
    courseId: string,
    db: Database,
    message: (userId: string) => { params: Record<string, unknown>; dedupeKey: string },
  ): Promise<number> {
    const people = await db
      .select({ id: users.id, email: users.email })
      .from(enrollments)
      .innerJoin(users, eq(users.id, enrollments.userId))
      .where(eq(enrollments.courseId, courseId));
    const writer: OutboxWriter = db;
    return this.#o.outbox.enqueue(
      people.map((p) => ({ kind, to: p.email, ...message(p.id) })),
      writer,
    );
  }

  /** The class, its course and the person, if they are still enrolled in it. */
  async #context(row: MailOutboxRow) {
    const classId = String(row.params.classId ?? '');
    const userId = String(row.params.userId ?? '');
    const [found] = await this.#db
      .select({ liveClass: liveClasses, courseTitle: courses.title, name: users.displayName, email: users.email })
      .from(liveClasses)
      .innerJoin(courses, eq(courses.id, liveClasses.courseId))
      .innerJoin(enrollments, and(eq(enrollments.courseId, courses.id), eq(enrollments.userId, userId)))
      .innerJoin(users, eq(users.id, userId))
      .where(eq(liveClasses.id, classId))
      .limit(1);
    if (found && found.email.toLowerCase() !== row.toAddress) return undefined;
    return found;
  }

  readonly #composeReminder: MailComposer = async (row, { origin, unsubscribeUrl }) => {
    const found = await this.#context(row);
    if (!found) return { drop: 'no longer enrolled' };
    const k = found.liveClass;
    if (k.status !== 'scheduled') return { drop: `the class is ${k.status}` };
    if (k.scheduledAt.toISOString() !== row.params.scheduledAt) return { drop: 'the class was moved' };
    const minutesLeft = Math.round((k.scheduledAt.getTime() - this.#now()) / 60_000);
    if (minutesLeft * 60_000 < -REMINDER_STALE_MS) return { drop: 'the class has started' };
    return renderMail(
      en.classReminder({
        name: found.name,
        classTitle: k.title,
        courseTitle: found.courseTitle,
        startsAt: classTime(k.scheduledAt, k.timeZone),
        minutes: Math.max(0, minutesLeft),
        url: `${origin}/classes/${k.id}`,
        unsubscribe: { url: unsubscribeUrl ?? `${origin}/profile` },
      }),
    );
  };

  readonly #composeMoved: MailComposer = async (row, { origin, unsubscribeUrl }) => {
    const found = await this.#context(row);
    if (!found) return { drop: 'no longer enrolled' };
    const k = found.liveClass;
    if (k.status !== 'scheduled') return { drop: `the class is ${k.status}` };
    if (k.scheduledAt.toISOString() !== row.params.scheduledAt) return { drop: 'moved again since' };
    return renderMail(
      en.classMoved({
        name: found.name,
        classTitle: k.title,
        courseTitle: found.courseTitle,
        was: classTime(new Date(String(row.params.was)), k.timeZone),
        startsAt: classTime(k.scheduledAt, k.timeZone),
        url: `${origin}/classes/${k.id}`,
        unsubscribe: { url: unsubscribeUrl ?? `${origin}/profile` },
      }),
    );
  };

  readonly #composeCancelled: MailComposer = async (row, { origin, unsubscribeUrl }) => {
    const found = await this.#context(row);
    if (!found) return { drop: 'no longer enrolled' };
    const k = found.liveClass;
    if (k.status !== 'cancelled') return { drop: `the class is ${k.status}` };
    return renderMail(
      en.classCancelled({
        name: found.name,
        classTitle: k.title,
        courseTitle: found.courseTitle,
        was: classTime(k.scheduledAt, k.timeZone),
        url: `${origin}/courses/${k.courseId}`,
        unsubscribe: { url: unsubscribeUrl ?? `${origin}/profile` },
      }),
    );
  };

  readonly #composeReplay: MailComposer = async (row, { origin, unsubscribeUrl }) => {
    const recordingId = String(row.params.recordingId ?? '');
    const [recording] = await this.#db
      .select({ classId: recordings.classId, status: recordings.status })
      .from(recordings)
      .where(and(eq(recordings.id, recordingId), isNull(recordings.error)))
      .limit(1);
    if (!recording || recording.status !== 'ready') return { drop: 'the replay is not available' };
    const found = await this.#context({ ...row, params: { ...row.params, classId: recording.classId } });
    if (!found) return { drop: 'no longer enrolled' };
    return renderMail(
      en.replayReady({
        name: found.name,
        classTitle: found.liveClass.title,
        courseTitle: found.courseTitle,
        url: `${origin}/replays/${recordingId}`,
        unsubscribe: { url: unsubscribeUrl ?? `${origin}/profile` },
      }),
    );
  };
}
