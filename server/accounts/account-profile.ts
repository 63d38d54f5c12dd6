// A person's own account: name, profile picture, handing a course over to another teacher, and deleting the
// account. Deleting keeps the users row, anonymised ("Deleted user", an address nobody can log in with, no
// password), so the class chat, questions and votes keep an author without a name; everything personal goes
// (enrollments, progress, raised hands, tokens, pending invitations and mail, mail choices, the
// picture). A teacher hands over or deletes their courses first.
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import {
  accountTokens,
  classRestrictions,
  courseInvitations,
  courses,
  enrollments,
  lessonProgress,
  liveClasses,
  mailOptOuts,
  mailOutbox,
  raisedHands,
  users,
  type Course,
} from '../db/schema.ts';
import { reencodeAvatar } from './avatar-image.ts';

export const DELETED_NAME = 'Deleted user';

export class ProfileError extends Error {
  readonly code: string;
  readonly status: 400 | 404 | 409;
  readonly courses: { id: string; title: string }[];
  constructor(code: string, status: ProfileError['status'], message: string, courses: { id: string; title: string }[] = []) {
    super(message);
    this.code = code;
    this.status = status;
    this.courses = courses;
  }
}

export interface AccountProfileOptions {
  db: Database;
  dataDir: string;
  ffmpegPath: string;
}

export class AccountProfile {
  readonly #o: AccountProfileOptions;
  readonly #db: Database;

  constructor(options: AccountProfileOptions) {
    this.#o = options;
    this.#db = options.db;
  }

  async view(userId: string) {
    const [row] = await this.#db.select().from(users).where(eq(users.id, userId)).limit(1);
    if (!row) throw new ProfileError('not_found', 404, 'No such account');
    const teaching = await this.#db
      .select({ id: courses.id, title: courses.title })
      .from(courses)
      .where(eq(courses.teacherId, userId))
      .orderBy(courses.title);
    return {
      id: row.id,
      email: row.email,
      displayName: row.displayName,
      role: row.role,
      emailVerified: row.emailVerifiedAt !== null,
      createdAt: row.createdAt.toISOString(),
      avatarUrl: avatarUrl(row),
      teaching,
    };
  }

  async rename(userId: string, displayName: string): Promise<void> {
    await this.#db.update(users).set({ displayName }).where(eq(users.id, userId));
  }

  /** Re-encodes and stores the picture; the previous one is removed. */
  async setAvatar(userId: string, bytes: Uint8Array): Promise<string> {
    const dir = path.join(this.#o.dataDir, 'avatars');
    await fs.mkdir(dir, { recursive: true });
    const relative = path.join('avatars', `${userId}-${randomBytes(6).toString('hex')}.webp`);
    const file = path.join(this.#o.dataDir, relative);
    try {
      await reencodeAvatar(bytes, this.#o.ffmpegPath, file);
    } catch (err) {
      await fs.rm(file, { force: true });
      throw err;
    }
    await this.#swapAvatar(userId, relative);
    return avatarUrl({ id: userId, avatarPath: relative })!;
  }

  async removeAvatar(userId: string): Promise<void> {
    await this.#swapAvatar(userId, null);
  }

  /** The stored picture's absolute path, or null. */
  async avatarFile(userId: string): Promise<string | null> {
    const [row] = await this.#db.select({ avatarPath: users.avatarPath }).from(users).where(eq(users.id, userId)).limit(1);
    return row?.avatarPath ? path.join(this.#o.dataDir, row.avatarPath) : null;
  }

  /** Gives the course (and its classes) to another teacher, who must have a confirmed address. */
  async handOver(course: Course, toEmail: string): Promise<{ teacherId: string; displayName: string }> {
    const [target] = await this.#db
      .select({ id: users.id, displayName: users.displayName, role: users.role, verifiedAt: users.emailVerifiedAt })
      .from(users)
      .where(and(eq(sql`lower(${users.email})`, toEmail.toLowerCase()), sql`${users.deletedAt} is null`))
      .limit(1);
    if (!target || target.role === 'student')
      throw new ProfileError('no_such_teacher', 400, `No teacher account uses ${toEmail}: they register as a teacher first`);
    if (!target.verifiedAt) throw new ProfileError('teacher_unverified', 409, `${toEmail} has not confirmed their address yet`);
    if (target.id === course.teacherId) throw new ProfileError('same_teacher', 400, 'That is already the course teacher');
    await this.#db.transaction(async (tx) => {
      await tx.update(courses).set({ teacherId: target.id, updatedAt: new Date() }).where(eq(courses.id, course.id));
      await tx.update(liveClasses).set({ teacherId: target.id }).where(eq(liveClasses.courseId, course.id));
      // The new teacher is no longer a student of their own course.
      await tx.delete(enrollments).where(and(eq(enrollments.courseId, course.id), eq(enrollments.userId, target.id)));
    });
    return { teacherId: target.id, displayName: target.displayName };
  }

  /** Deletes (anonymises) the account; refuses while it still teaches courses. The caller ends its sessions. */
  async delete(userId: string): Promise<void> {
    const teaching = await this.#db.select({ id: courses.id, title: courses.title }).from(courses).where(eq(courses.teacherId, userId));
    if (teaching.length)
      throw new ProfileError(
        'courses_remaining',
        409,
        `Hand over or delete your ${teaching.length === 1 ? 'course' : `${teaching.length} courses`} first: ${teaching.map((c) => c.title).join(', ')}`,
        teaching,
      );
    const [row] = await this.#db.select().from(users).where(eq(users.id, userId)).limit(1);
    if (!row || row.deletedAt) throw new ProfileError('not_found', 404, 'No such account');
    const email = row.email.toLowerCase();
    await this.#db.transaction(async (tx) => {
      await tx.delete(enrollments).where(eq(enrollments.userId, userId));
      await tx.delete(lessonProgress).where(eq(lessonProgress.userId, userId));
      await tx.delete(raisedHands).where(eq(raisedHands.userId, userId));
      await tx.delete(classRestrictions).where(eq(classRestrictions.userId, userId));
      await tx.delete(accountTokens).where(eq(accountTokens.userId, userId));
      await tx.delete(courseInvitations).where(and(eq(courseInvitations.email, email), eq(courseInvitations.status, 'pending')));
      await tx.delete(mailOutbox).where(and(eq(mailOutbox.toAddress, email), inArray(mailOutbox.status, ['pending'])));
      await tx.delete(mailOptOuts).where(eq(mailOptOuts.address, email));
      await tx
        .update(users)
        .set({
          email: `deleted-${userId}@deleted.invalid`,
          displayName: DELETED_NAME,
          // Not an argon2 hash: no password ever matches it.
          passwordHash: '!deleted',
          emailVerifiedAt: null,
          avatarPath: null,
          deletedAt: new Date(),
        })
        .where(eq(users.id, userId));
    });
    if (row.avatarPath) await fs.rm(path.join(this.#o.dataDir, row.avatarPath), { force: true });
  }

  async #swapAvatar(userId: string, next: string | null): Promise<void> {
    const [row] = await this.#db.select({ avatarPath: users.avatarPath }).from(users).where(eq(users.id, userId)).limit(1);
    await this.#db.update(users).set({ avatarPath: next }).where(eq(users.id, userId));
    if (row?.avatarPath && row.avatarPath !== next) await fs.rm(path.join(this.#o.dataDir, row.avatarPath), { force: true });
  }
}

/** Where a picture is served; the file name in the query makes a new picture a new URL (long caching). */
export function avatarUrl(row: { id: string; avatarPath: string | null }): string | null {
  return row.avatarPath ? `/api/users/${row.id}/avatar?v=${path.basename(row.avatarPath, '.webp').split('-').at(-1)}` : null;
}
