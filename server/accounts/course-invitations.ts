// Teachers invite students to a course by address. Sending is bounded per request and per teacher per day
// (counted by when each invitation was last mailed, so re-sending counts too); the mail is queued in the same
// transaction as the invitation. Accepting enrolls the account whose address was invited and confirms that
// address (the link came to it); a person without an account registers through the link.
import { and, count, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { courseInvitations, courses, enrollments, users, type Course, type CourseInvitation } from '../db/schema.ts';
import type { InvitationView, InviteResult, PendingInvitation } from '../contracts/invitations.ts';
import type { Accounts } from '../auth/accounts.ts';
import { generateSessionToken, sessionIdFromToken, type SessionUser } from '../auth/session-store.ts';
import type { MailOutbox } from '../mail/mail-outbox.ts';
import type { MailComposer, MailDispatcher } from '../mail/mail-dispatcher.ts';
import { renderMail } from '../mail/mail-layout.ts';
import { en } from '../mail/messages.ts';

export const INVITATION_DAYS = 14;
const DAY_MS = 24 * 3600_000;

export class InvitationError extends Error {
  readonly code: string;
  readonly status: 400 | 403 | 404 | 409 | 410 | 429;
  constructor(code: string, status: InvitationError['status'], message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export interface CourseInvitationsOptions {
  db: Database;
  outbox: MailOutbox;
  accounts: Accounts;
  perRequest: number;
  perDay: number;
  now?: () => number;
}

export class CourseInvitations {
  readonly #o: CourseInvitationsOptions;
  readonly #db: Database;
  readonly #now: () => number;

  constructor(options: CourseInvitationsOptions) {
    this.#o = options;
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
  }

  registerWith(dispatcher: MailDispatcher): void {
    dispatcher.register('course_invitation', this.#compose);
  }

  /** Invites the addresses (already parsed and distinct) to the course on behalf of `inviter`. */
  async invite(course: Course, inviter: SessionUser, addresses: string[], invalid: string[] = []): Promise<InviteResult> {
    if (addresses.length === 0) throw new InvitationError('no_addresses', 400, 'Paste at least one email address');
    if (addresses.length > this.#o.perRequest)
      throw new InvitationError('too_many', 400, `At most ${this.#o.perRequest} addresses at a time (you pasted ${addresses.length})`);
    const now = new Date(this.#now());
    const dayAgo = new Date(now.getTime() - DAY_MS);
    const [sent] = await this.#db
      .select({ n: count() })
      .from(courseInvitations)
      .where(and(eq(courseInvitations.invitedBy, inviter.id), gt(courseInvitations.sentAt, dayAgo)));
    const remaining = this.#o.perDay - (sent?.n ?? 0);

    const enrolled = await this.#db
      .select({ email: sql<string>`lower(${users.email})` })
      .from(enrollments)
      .innerJoin(users, eq(users.id, enrollments.userId))
      .where(and(eq(enrollments.courseId, course.id), inArray(sql`lower(${users.email})`, addresses)));
    const enrolledSet = new Set(enrolled.map((r) => r.email));
    const pending = await this.#db
      .select()
      .from(courseInvitations)
      .where(
        and(
          eq(courseInvitations.courseId, course.id),
          eq(courseInvitations.status, 'pending'),
          inArray(courseInvitations.email, addresses),
        ),
      );
    const pendingBy = new Map(pending.map((p) => [p.email, p]));

    const result: InviteResult = { invited: [], alreadyEnrolled: [], alreadyInvited: [], invalid, remainingToday: remaining };
    const fresh: string[] = [];
    const resend: CourseInvitation[] = [];
    for (const email of addresses) {
      const open = pendingBy.get(email);
      if (enrolledSet.has(email) || email === inviter.email.toLowerCase()) result.alreadyEnrolled.push(email);
      else if (open && open.sentAt > dayAgo) result.alreadyInvited.push(email);
      else if (open) resend.push(open);
      else fresh.push(email);
    }
    const mailing = fresh.length + resend.length;
    if (mailing > remaining)
      throw new InvitationError(
        'daily_limit',
        429,
        `You can send ${Math.max(0, remaining)} more invitation${remaining === 1 ? '' : 's'} today (at most ${this.#o.perDay} a day)`,
      );
    if (mailing === 0) return result;

    const expiresAt = new Date(now.getTime() + INVITATION_DAYS * DAY_MS);
    await this.#db.transaction(async (tx) => {
      const created = fresh.length
        ? await tx
            .insert(courseInvitations)
            .values(fresh.map((email) => ({ courseId: course.id, email, invitedBy: inviter.id, expiresAt, sentAt: now })))
            .onConflictDoNothing()
            .returning()
        : [];
      const renewed = resend.length
        ? await tx
            .update(courseInvitations)
            .set({ sentAt: now, expiresAt, invitedBy: inviter.id })
            .where(
              inArray(
                courseInvitations.id,
                resend.map((r) => r.id),
              ),
            )
            .returning()
        : [];
      const rows = [...created, ...renewed];
      await this.#o.outbox.enqueue(
        rows.map((r) => ({ kind: 'course_invitation' as const, to: r.email, params: { invitationId: r.id } })),
        tx,
      );
      result.invited = rows.map((r) => r.email);
    });
    result.remainingToday = remaining - result.invited.length;
    return result;
  }

  async pending(courseId: string): Promise<PendingInvitation[]> {
    const rows = await this.#db
      .select()
      .from(courseInvitations)
      .where(and(eq(courseInvitations.courseId, courseId), eq(courseInvitations.status, 'pending')))
      .orderBy(courseInvitations.email);
    return rows.map((r) => ({ id: r.id, email: r.email, sentAt: r.sentAt.toISOString(), expiresAt: r.expiresAt.toISOString() }));
  }

  /** Revokes a pending invitation of the course; its link stops working. */
  async revoke(courseId: string, invitationId: string): Promise<boolean> {
    const rows = await this.#db
      .update(courseInvitations)
      .set({ status: 'revoked', tokenHash: null })
      .where(and(eq(courseInvitations.id, invitationId), eq(courseInvitations.courseId, courseId), eq(courseInvitations.status, 'pending')))
      .returning({ id: courseInvitations.id });
    return rows.length > 0;
  }

  /** What the link's page shows, or null for a token that is not (or no longer) an invitation's. */
  async view(token: string): Promise<InvitationView | null> {
    const found = await this.#byToken(token);
    if (!found) return null;
    const { invitation, course } = found;
    const teacher = await this.#o.accounts.byId(course.teacherId);
    const account = await this.#o.accounts.byEmail(invitation.email);
    return {
      status: invitation.status === 'pending' && this.#expired(invitation) ? 'expired' : invitation.status,
      email: invitation.email,
      courseId: course.id,
      courseTitle: course.title,
      teacherName: teacher?.displayName ?? '',
      accountExists: Boolean(account),
    };
  }

  /** Enrolls `user` (whose address must be the invited one) and confirms that address. */
  async accept(token: string, user: SessionUser): Promise<{ courseId: string }> {
    const found = await this.#byToken(token);
    if (!found) throw new InvitationError('invalid_link', 404, 'This invitation link is not valid (a newer one may have replaced it)');
    const { invitation, course } = found;
    this.#checkOpen(invitation, course);
    if (invitation.email !== user.email.toLowerCase())
      throw new InvitationError(
        'wrong_account',
        403,
        `This invitation is for ${invitation.email}; you are logged in as ${user.email}. Log out and use that address.`,
      );
    await this.#db.transaction(async (tx) => {
      const taken = await tx
        .update(courseInvitations)
        .set({ status: 'accepted', acceptedAt: new Date(this.#now()), acceptedBy: user.id, tokenHash: null })
        .where(and(eq(courseInvitations.id, invitation.id), eq(courseInvitations.status, 'pending')))
        .returning({ id: courseInvitations.id });
      if (taken.length === 0) throw new InvitationError('not_pending', 409, 'This invitation was used or revoked meanwhile');
      await tx.insert(enrollments).values({ userId: user.id, courseId: course.id }).onConflictDoNothing();
    });
    await this.#o.accounts.markVerified(user.id);
    return { courseId: course.id };
  }

  /** For an invitee without an account: the address the invitation names, so they can register with it. */
  async addressToRegister(token: string): Promise<string> {
    const found = await this.#byToken(token);
    if (!found) throw new InvitationError('invalid_link', 404, 'This invitation link is not valid (a newer one may have replaced it)');
    this.#checkOpen(found.invitation, found.course);
    if (await this.#o.accounts.byEmail(found.invitation.email))
      throw new InvitationError('account_exists', 409, `${found.invitation.email} already has an account: log in to accept`);
    return found.invitation.email;
  }

  #checkOpen(invitation: CourseInvitation, course: Course): void {
    if (invitation.status === 'accepted') throw new InvitationError('already_accepted', 409, 'This invitation was already accepted');
    if (invitation.status === 'revoked') throw new InvitationError('revoked', 410, 'The teacher withdrew this invitation');
    if (this.#expired(invitation))
      throw new InvitationError('link_expired', 410, 'This invitation has expired; ask the teacher for a new one');
    if (!course.published) throw new InvitationError('not_published', 409, 'This course is not open yet; try again later');
  }

  #expired(invitation: CourseInvitation): boolean {
    return invitation.expiresAt.getTime() <= this.#now();
  }

  async #byToken(token: string): Promise<{ invitation: CourseInvitation; course: Course } | null> {
    if (!/^[a-z2-7]{32}$/.test(token)) return null;
    const [row] = await this.#db
      .select({ invitation: courseInvitations, course: courses })
      .from(courseInvitations)
      .innerJoin(courses, eq(courses.id, courseInvitations.courseId))
      .where(eq(courseInvitations.tokenHash, sessionIdFromToken(token)))
      .limit(1);
    return row ?? null;
  }

  readonly #compose: MailComposer = async (row, { origin, unsubscribeUrl }) => {
    const invitationId = typeof row.params.invitationId === 'string' ? row.params.invitationId : '';
    const [found] = await this.#db
      .select({ invitation: courseInvitations, course: courses, teacherName: users.displayName })
      .from(courseInvitations)
      .innerJoin(courses, eq(courses.id, courseInvitations.courseId))
      .innerJoin(users, eq(users.id, courses.teacherId))
      .where(eq(courseInvitations.id, invitationId))
      .limit(1);
    if (!found || found.invitation.status !== 'pending') return { drop: 'the invitation is no longer pending' };
    if (this.#expired(found.invitation)) return { drop: 'the invitation expired before it could be sent' };
    // A new link each time it is mailed; the previous one stops working.
    const token = generateSessionToken();
    await this.#db
      .update(courseInvitations)
      .set({ tokenHash: sessionIdFromToken(token) })
      .where(eq(courseInvitations.id, invitationId));
    return renderMail(
      en.courseInvitation({
        teacherName: found.teacherName,
        courseTitle: found.course.title,
        url: `${origin}/invitations/accept?token=${token}`,
        days: INVITATION_DAYS,
        unsubscribe: { url: unsubscribeUrl ?? `${origin}/profile` },
      }),
    );
  };
}
