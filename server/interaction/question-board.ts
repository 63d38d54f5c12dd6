// Q&A of a live class: students ask (optionally anonymous to other students, never to the teacher), everyone
// upvotes once (the primary key of question_votes makes a second vote impossible), the list is sorted by votes
// then time; the teacher marks answered, pins one question and dismisses.
import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import { LIMITS, type Question, type QuestionStatus } from '../contracts/interaction.ts';
import type { ClassRole } from '../contracts/live-class.ts';
import type { Database } from '../db/client.ts';
import { liveClasses, questions, questionVotes, users } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';
import { authorRoleSql, isoDate } from './authors.ts';

/** A question as stored, with its author; `view` turns it into what one viewer may see. */
export interface QuestionRecord {
  id: string;
  userId: string;
  body: string;
  anonymous: boolean;
  status: QuestionStatus;
  pinned: boolean;
  votes: number;
  createdAt: Date;
  /** When the teacher marked it answered (null while it is not). */
  answeredAt: Date | null;
  authorName: string;
  authorRole: ClassRole;
}

export class QuestionBoard {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** What a viewer sees: students never learn who asked an anonymous question (unless they asked it). */
  static view(q: QuestionRecord, viewer: { staff: boolean }): Question {
    const showAuthor = viewer.staff || !q.anonymous;
    return {
      id: q.id,
      body: q.body,
      author: showAuthor ? { id: q.userId, displayName: q.authorName, role: q.authorRole } : null,
      anonymous: q.anonymous,
      status: q.status,
      pinned: q.pinned,
      votes: q.votes,
      createdAt: isoDate(q.createdAt),
    };
  }

  async ask(classId: string, userId: string, body: string, anonymous: boolean): Promise<QuestionRecord> {
    const [asked] = await this.#db
      .select({ n: sql<number>`count(*)::int` })
      .from(questions)
      .where(and(eq(questions.classId, classId), eq(questions.userId, userId)));
    if (Number(asked?.n ?? 0) >= LIMITS.questionsPerPerson) {
      throw new DomainError('too_many_questions', `You can ask at most ${LIMITS.questionsPerPerson} questions in one class`);
    }
    const [row] = await this.#db.insert(questions).values({ classId, userId, body, anonymous }).returning({ id: questions.id });
    return this.get(classId, row!.id);
  }

  /** Sorted by votes (most first), then time (oldest first). Dismissed questions only for the staff. */
  async list(classId: string, options: { includeDismissed: boolean }): Promise<QuestionRecord[]> {
    return this.#select()
      .where(and(eq(questions.classId, classId), options.includeDismissed ? undefined : ne(questions.status, 'dismissed')))
      .orderBy(desc(questions.voteCount), asc(questions.createdAt), asc(questions.id));
  }

  async get(classId: string, questionId: string): Promise<QuestionRecord> {
    const [row] = await this.#select()
      .where(and(eq(questions.id, questionId), eq(questions.classId, classId)))
      .limit(1);
    if (!row) throw new DomainError('not_found', 'No such question in this class');
    return row;
  }

  async askedBy(classId: string, userId: string): Promise<string[]> {
    const rows = await this.#db
      .select({ id: questions.id })
      .from(questions)
      .where(and(eq(questions.classId, classId), eq(questions.userId, userId)));
    return rows.map((r) => r.id);
  }

  async votedBy(classId: string, userId: string): Promise<string[]> {
    const rows = await this.#db
      .select({ id: questionVotes.questionId })
      .from(questionVotes)
      .innerJoin(questions, eq(questions.id, questionVotes.questionId))
      .where(and(eq(questions.classId, classId), eq(questionVotes.userId, userId)));
    return rows.map((r) => r.id);
  }

  /** One upvote per person per question, enforced by the database. */
  async vote(classId: string, questionId: string, userId: string): Promise<QuestionRecord> {
    const question = await this.get(classId, questionId);
    if (question.status === 'dismissed') throw new DomainError('not_found', 'No such question in this class');
    await this.#db.transaction(async (tx) => {
      const inserted = await tx
        .insert(questionVotes)
        .values({ questionId, userId })
        .onConflictDoNothing()
        .returning({ userId: questionVotes.userId });
      if (inserted.length === 0) throw new DomainError('already_voted', 'You already upvoted this question');
      await tx
        .update(questions)
        .set({ voteCount: sql`${questions.voteCount} + 1` })
        .where(eq(questions.id, questionId));
    });
    return this.get(classId, questionId);
  }

  async unvote(classId: string, questionId: string, userId: string): Promise<QuestionRecord> {
    await this.get(classId, questionId);
    await this.#db.transaction(async (tx) => {
      const removed = await tx
        .delete(questionVotes)
        .where(and(eq(questionVotes.questionId, questionId), eq(questionVotes.userId, userId)))
        .returning({ userId: questionVotes.userId });
      if (removed.length === 0) throw new DomainError('not_voted', 'You have not upvoted this question');
      await tx
        .update(questions)
        .set({ voteCount: sql`greatest(${questions.voteCount} - 1, 0)` })
        .where(eq(questions.id, questionId));
    });
    return this.get(classId, questionId);
  }

  async setStatus(classId: string, questionId: string, status: QuestionStatus): Promise<QuestionRecord> {
    await this.get(classId, questionId);
    await this.#db
      .update(questions)
      .set({
        status,
        answeredAt: status === 'answered' ? new Date() : null,
        // A dismissed question leaves the pin too.
        ...(status === 'dismissed' ? { pinned: false } : {}),
      })
      .where(eq(questions.id, questionId));
    return this.get(classId, questionId);
  }

  /** Pins this question (unpinning the one pinned before, returned as `unpinned`) or unpins it. */
  async pin(classId: string, questionId: string, pinned: boolean): Promise<{ question: QuestionRecord; unpinned: QuestionRecord | null }> {
    const target = await this.get(classId, questionId);
    if (pinned && target.status === 'dismissed') throw new DomainError('invalid_state', 'A dismissed question cannot be pinned');
    let unpinnedId: string | null = null;
    await this.#db.transaction(async (tx) => {
      if (pinned) {
        const previous = await tx
          .update(questions)
          .set({ pinned: false })
          .where(and(eq(questions.classId, classId), eq(questions.pinned, true), ne(questions.id, questionId)))
          .returning({ id: questions.id });
        unpinnedId = previous[0]?.id ?? null;
      }
      await tx.update(questions).set({ pinned }).where(eq(questions.id, questionId));
    });
    return { question: await this.get(classId, questionId), unpinned: unpinnedId ? await this.get(classId, unpinnedId) : null };
  }

  #select() {
    return this.#db
      .select({
        id: questions.id,
        userId: questions.userId,
        body: questions.body,
        anonymous: questions.anonymous,
        status: questions.status,
        pinned: questions.pinned,
        votes: questions.voteCount,
        createdAt: questions.createdAt,
        answeredAt: questions.answeredAt,
        authorName: users.displayName,
        authorRole: authorRoleSql,
      })
      .from(questions)
      .innerJoin(users, eq(users.id, questions.userId))
      .innerJoin(liveClasses, eq(liveClasses.id, questions.classId))
      .$dynamic();
  }
}
