// Polls and quizzes of a live class. One ballot per person per poll (primary key of poll_votes); a ballot
// may change while the poll is open only when the poll allows it. Results are counted in the database, so
// every server process reports the same numbers, and are exported as CSV.
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { LIMITS, type Poll, type PollCreate, type PollResults } from '../contracts/interaction.ts';
import type { z } from 'zod';
import type { Database } from '../db/client.ts';
import { pollOptions, polls, pollVotes, type PollOptionRow, type PollRow } from '../db/schema.ts';
import { toCsv, type CsvValue } from '../csv.ts';
import { DomainError } from '../domain-error.ts';
import { isoDate } from './authors.ts';

type PollInput = z.output<typeof PollCreate>;

/** A poll as stored with its options in order; `view` decides what one viewer sees of it. */
export interface PollRecord {
  poll: PollRow;
  options: PollOptionRow[];
}

export class PollBook {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Staff see everything. Students see results only when the teacher shows them, and the correct answers of
   * a quiz only once it has closed.
   */
  static view(record: PollRecord, results: PollResults, viewer: { staff: boolean }): Poll {
    const { poll, options } = record;
    const revealCorrect = viewer.staff || (poll.isQuiz && poll.status === 'closed');
    return {
      id: poll.id,
      question: poll.question,
      kind: poll.kind,
      quiz: poll.isQuiz,
      allowChange: poll.allowChange,
      showResults: poll.showResults,
      status: poll.status,
      options: options.map((o) => ({ id: o.id, label: o.label, correct: poll.isQuiz && revealCorrect ? o.isCorrect : null })),
      results: viewer.staff || poll.showResults ? results : null,
      createdAt: isoDate(poll.createdAt),
      closedAt: poll.closedAt ? isoDate(poll.closedAt) : null,
    };
  }

  async create(classId: string, createdBy: string, input: PollInput): Promise<PollRecord> {
    return this.#db.transaction(async (tx) => {
      const [existing] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(polls)
        .where(eq(polls.classId, classId));
      if (Number(existing?.n ?? 0) >= LIMITS.pollsPerClass) {
        throw new DomainError('too_many_polls', `A class has at most ${LIMITS.pollsPerClass} polls`);
      }
      const [poll] = await tx
        .insert(polls)
        .values({
          classId,
          createdBy,
          question: input.question,
          kind: input.kind,
          isQuiz: input.quiz,
          allowChange: input.allowChange,
          showResults: input.showResults,
        })
        .returning();
      const options = await tx
        .insert(pollOptions)
        .values(input.options.map((o, position) => ({ pollId: poll!.id, position, label: o.label, isCorrect: input.quiz && o.correct })))
        .returning();
      return { poll: poll!, options: options.sort((a, b) => a.position - b.position) };
    });
  }

  async get(classId: string, pollId: string): Promise<PollRecord> {
    const [poll] = await this.#db
      .select()
      .from(polls)
      .where(and(eq(polls.id, pollId), eq(polls.classId, classId)))
      .limit(1);
    if (!poll) throw new DomainError('not_found', 'No such poll in this class');
    const options = await this.#db.select().from(pollOptions).where(eq(pollOptions.pollId, pollId)).orderBy(asc(pollOptions.position));
    return { poll, options };
  }

  /** Every poll of the class, newest first. */
  async list(classId: string): Promise<PollRecord[]> {
    const rows = await this.#db.select().from(polls).where(eq(polls.classId, classId)).orderBy(desc(polls.createdAt));
    if (rows.length === 0) return [];
    const options = await this.#db
      .select()
      .from(pollOptions)
      .where(sql`${pollOptions.pollId} in (select id from polls where class_id = ${classId})`)
      .orderBy(asc(pollOptions.position));
    return rows.map((poll) => ({ poll, options: options.filter((o) => o.pollId === poll.id) }));
  }

  async results(record: PollRecord): Promise<PollResults> {
    const pollId = record.poll.id;
    const rows = await this.#db
      .select({ optionId: sql<string>`unnest(${pollVotes.optionIds})`, n: sql<number>`count(*)::int` })
      .from(pollVotes)
      .where(eq(pollVotes.pollId, pollId))
      .groupBy(sql`1`);
    const counts: Record<string, number> = Object.fromEntries(record.options.map((o) => [o.id, 0]));
    for (const r of rows) if (r.optionId in counts) counts[r.optionId] = Number(r.n);
    const [voters] = await this.#db
      .select({ n: sql<number>`count(*)::int` })
      .from(pollVotes)
      .where(eq(pollVotes.pollId, pollId));
    return { pollId, counts, voters: Number(voters?.n ?? 0) };
  }

  /** The user's ballots in this class: pollId -> optionIds. */
  async ballotsOf(classId: string, userId: string): Promise<Record<string, string[]>> {
    const rows = await this.#db
      .select({ pollId: pollVotes.pollId, optionIds: pollVotes.optionIds })
      .from(pollVotes)
      .innerJoin(polls, eq(polls.id, pollVotes.pollId))
      .where(and(eq(polls.classId, classId), eq(pollVotes.userId, userId)));
    return Object.fromEntries(rows.map((r) => [r.pollId, r.optionIds]));
  }

  /** Records the ballot; `changed` when it replaced an earlier one (only where the poll allows changes). */
  async vote(classId: string, pollId: string, userId: string, optionIds: string[]): Promise<{ record: PollRecord; changed: boolean }> {
    const record = await this.get(classId, pollId);
    if (record.poll.status !== 'open') throw new DomainError('poll_closed', 'This poll is closed');
    const unique = [...new Set(optionIds)];
    if (unique.length !== optionIds.length) throw new DomainError('invalid_input', 'An option is chosen twice');
    const known = new Set(record.options.map((o) => o.id));
    if (!unique.every((id) => known.has(id))) throw new DomainError('not_found', 'An option is not part of this poll');
    if (record.poll.kind === 'single' && unique.length !== 1) throw new DomainError('invalid_input', 'Choose exactly one option');
    // Stored in the options' order, so that a ballot reads the same however the client listed it.
    const ordered = record.options.filter((o) => unique.includes(o.id)).map((o) => o.id);

    const inserted = await this.#db
      .insert(pollVotes)
      .values({ pollId, userId, optionIds: ordered })
      .onConflictDoNothing()
      .returning({ userId: pollVotes.userId });
    if (inserted.length > 0) return { record, changed: false };
    if (!record.poll.allowChange) throw new DomainError('already_voted', 'You already voted in this poll');
    await this.#db
      .update(pollVotes)
      .set({ optionIds: ordered, updatedAt: new Date() })
      .where(and(eq(pollVotes.pollId, pollId), eq(pollVotes.userId, userId)));
    return { record, changed: true };
  }

  async close(classId: string, pollId: string): Promise<PollRecord> {
    const record = await this.get(classId, pollId);
    if (record.poll.status === 'closed') throw new DomainError('poll_closed', 'This poll is already closed');
    await this.#db.update(polls).set({ status: 'closed', closedAt: new Date() }).where(eq(polls.id, pollId));
    return this.get(classId, pollId);
  }

  async setShowResults(classId: string, pollId: string, show: boolean): Promise<PollRecord> {
    await this.get(classId, pollId);
    await this.#db.update(polls).set({ showResults: show }).where(eq(polls.id, pollId));
    return this.get(classId, pollId);
  }

  /** All polls of the class as CSV: one row per option, with its votes and share of the voters. */
  async exportCsv(classId: string): Promise<string> {
    const header = [
      'poll_id',
      'poll',
      'kind',
      'quiz',
      'status',
      'created_at',
      'option_position',
      'option',
      'correct',
      'votes',
      'voters',
      'percent',
    ];
    const rows: CsvValue[][] = [];
    for (const record of (await this.list(classId)).reverse()) {
      const results = await this.results(record);
      for (const o of record.options) {
        const votes = results.counts[o.id] ?? 0;
        const percent = results.voters === 0 ? 0 : Math.round((votes / results.voters) * 1000) / 10;
        rows.push([
          record.poll.id,
          record.poll.question,
          record.poll.kind,
          record.poll.isQuiz ? 'yes' : 'no',
          record.poll.status,
          isoDate(record.poll.createdAt),
          o.position + 1,
          o.label,
          record.poll.isQuiz ? (o.isCorrect ? 'yes' : 'no') : '',
          votes,
          results.voters,
          percent,
        ]);
      }
    }
    return toCsv(header, rows);
  }
}
