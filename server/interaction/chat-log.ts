// The chat of a live class: persisted messages, the latest page on join, older pages on scroll, and
// deletion by the teacher (a tombstone stays so that the conversation keeps its shape).
import { and, asc, desc, eq, isNull, lt } from 'drizzle-orm';
import { LIMITS, type Author, type ChatMessage, type ChatPage } from '../contracts/interaction.ts';
import type { Database } from '../db/client.ts';
import { chatMessages, liveClasses, users } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';
import { authorRoleSql, isoDate } from './authors.ts';

export class ChatLog {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  async post(classId: string, author: Author, body: string): Promise<ChatMessage> {
    const [row] = await this.#db.insert(chatMessages).values({ classId, userId: author.id, body }).returning();
    return { id: row!.id, author, body: row!.body, createdAt: isoDate(row!.createdAt), deleted: false };
  }

  /** The newest messages, or those before the message `before` (which must belong to this class). */
  async page(classId: string, options: { before?: string | undefined; limit?: number | undefined } = {}): Promise<ChatPage> {
    const limit = Math.min(options.limit ?? LIMITS.chatPage, LIMITS.chatPage);
    let cursor;
    if (options.before) {
      const [anchor] = await this.#db
        .select({ seq: chatMessages.seq })
        .from(chatMessages)
        .where(and(eq(chatMessages.id, options.before), eq(chatMessages.classId, classId)))
        .limit(1);
      if (!anchor) throw new DomainError('not_found', 'No such message in this class');
      cursor = lt(chatMessages.seq, anchor.seq);
    }
    const rows = await this.#select()
      .where(and(eq(chatMessages.classId, classId), cursor))
      .orderBy(desc(chatMessages.seq))
      .limit(limit + 1);
    const hasMore = rows.length > limit;
    return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore };
  }

  /** The class's chat from its start, without deleted messages: at most `limit`, and whether there were more. */
  async transcript(classId: string, limit: number): Promise<{ messages: ChatMessage[]; truncated: boolean }> {
    const rows = await this.#select()
      .where(and(eq(chatMessages.classId, classId), isNull(chatMessages.deletedAt)))
      .orderBy(asc(chatMessages.seq))
      .limit(limit + 1);
    return { messages: rows.slice(0, limit).map(toMessage), truncated: rows.length > limit };
  }

  /** Marks the message deleted (its text is no longer served); false when it was already deleted. */
  async delete(classId: string, messageId: string, deletedBy: string): Promise<boolean> {
    const [existing] = await this.#db
      .select({ id: chatMessages.id, deletedAt: chatMessages.deletedAt })
      .from(chatMessages)
      .where(and(eq(chatMessages.id, messageId), eq(chatMessages.classId, classId)))
      .limit(1);
    if (!existing) throw new DomainError('not_found', 'No such message in this class');
    if (existing.deletedAt) return false;
    await this.#db.update(chatMessages).set({ deletedAt: new Date(), deletedBy }).where(eq(chatMessages.id, messageId));
    return true;
  }

  #select() {
    return this.#db
      .select({
        id: chatMessages.id,
        body: chatMessages.body,
        createdAt: chatMessages.createdAt,
        deletedAt: chatMessages.deletedAt,
        authorId: users.id,
        authorName: users.displayName,
        authorRole: authorRoleSql,
      })
      .from(chatMessages)
      .innerJoin(users, eq(users.id, chatMessages.userId))
      .innerJoin(liveClasses, eq(liveClasses.id, chatMessages.classId))
      .$dynamic();
  }
}

interface MessageRow {
  id: string;
  body: string;
  createdAt: Date;
  deletedAt: Date | null;
  authorId: string;
  authorName: string;
  authorRole: Author['role'];
}

function toMessage(r: MessageRow): ChatMessage {
  return {
    id: r.id,
    author: { id: r.authorId, displayName: r.authorName, role: r.authorRole },
    body: r.deletedAt ? '' : r.body,
    createdAt: isoDate(r.createdAt),
    deleted: r.deletedAt !== null,
  };
}
