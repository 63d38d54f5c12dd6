// Everything the class interaction features keep: the stores (one per concern) and the flood control.
// Built once in main.ts (with the flood limiter for this deployment: in memory, or in Redis for a cluster);
// close() stops its timers and closes the flood limiter.
import type { Database } from '../db/client.ts';
import { ChapterBook } from './chapter-book.ts';
import { ChatLog } from './chat-log.ts';
import { ClassModeration } from './class-moderation.ts';
import { FloodControl, type BucketRule, type FloodLimiter } from './flood-control.ts';
import { HandQueue } from './hand-queue.ts';
import { PollBook } from './poll-book.ts';
import { QuestionBoard } from './question-board.ts';

/** Bursts and steady rates per kind of action; moderators get more room (they lead the class). */
export const FLOOD_RULES = {
  chat: { capacity: 5, refillPerSecond: 1 },
  chatModerator: { capacity: 20, refillPerSecond: 5 },
  question: { capacity: 3, refillPerSecond: 0.2 },
  reaction: { capacity: 5, refillPerSecond: 2 },
  /** The teacher's polls: a quick series is fine, a script creating them in a loop is not. */
  poll: { capacity: 5, refillPerSecond: 0.5 },
  /** The teacher's chapter marks. */
  chapter: { capacity: 5, refillPerSecond: 0.5 },
  hand: { capacity: 5, refillPerSecond: 1 },
  /** Upvotes and ballots: each is unique in the database, but toggling them still writes and broadcasts. */
  vote: { capacity: 10, refillPerSecond: 2 },
  /** Reads: older chat pages while scrolling, and the full snapshot on (re)join. */
  history: { capacity: 10, refillPerSecond: 2 },
  sync: { capacity: 10, refillPerSecond: 1 },
} satisfies Record<string, BucketRule>;

export class Interaction {
  readonly chat: ChatLog;
  readonly questions: QuestionBoard;
  readonly polls: PollBook;
  readonly chapters: ChapterBook;
  readonly hands: HandQueue;
  readonly moderation: ClassModeration;
  readonly flood: FloodLimiter;

  constructor(db: Database, flood: FloodLimiter = new FloodControl()) {
    this.chat = new ChatLog(db);
    this.questions = new QuestionBoard(db);
    this.polls = new PollBook(db);
    this.chapters = new ChapterBook(db);
    this.hands = new HandQueue(db);
    this.moderation = new ClassModeration(db);
    this.flood = flood;
  }

  async close(): Promise<void> {
    await this.flood.close();
  }
}
