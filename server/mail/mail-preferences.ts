// Who turned which notices off, by address (so an invitee without an account can opt out as well as a
// member), and the signed one-click unsubscribe tokens every notice carries. A token names its address and
// topic and is signed with a server secret kept in the database, so links keep working across restarts and
// processes, and nobody can unsubscribe someone else by editing one.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { mailOptOuts } from '../db/schema.ts';
import { MAIL_TOPICS, MailTopic, type MailPreferences as TopicSwitches } from '../contracts/mail.ts';
import { serverSecret } from './server-secret.ts';

export class MailPreferences {
  readonly #db: Database;
  readonly #secret: Buffer;

  private constructor(db: Database, secret: Buffer) {
    this.#db = db;
    this.#secret = secret;
  }

  static async open(db: Database): Promise<MailPreferences> {
    return new MailPreferences(db, await serverSecret(db, 'unsubscribe'));
  }

  async optedOut(address: string, topic: MailTopic): Promise<boolean> {
    const rows = await this.#db
      .select({ topic: mailOptOuts.topic })
      .from(mailOptOuts)
      .where(and(eq(mailOptOuts.address, address.toLowerCase()), eq(mailOptOuts.topic, topic)))
      .limit(1);
    return rows.length > 0;
  }

  /** Every topic and whether mail of it reaches the address. */
  async forAddress(address: string): Promise<TopicSwitches> {
    const rows = await this.#db
      .select({ topic: mailOptOuts.topic })
      .from(mailOptOuts)
      .where(eq(mailOptOuts.address, address.toLowerCase()));
    const off = new Set(rows.map((r) => r.topic));
    return Object.fromEntries(MAIL_TOPICS.map((t) => [t, !off.has(t)])) as TopicSwitches;
  }

  async set(address: string, topic: MailTopic, wanted: boolean): Promise<void> {
    const key = address.toLowerCase();
    if (wanted) await this.#db.delete(mailOptOuts).where(and(eq(mailOptOuts.address, key), eq(mailOptOuts.topic, topic)));
    else await this.#db.insert(mailOptOuts).values({ address: key, topic }).onConflictDoNothing();
  }

  /** Forgets an address's choices (its account was deleted). */
  async forget(address: string): Promise<void> {
    await this.#db.delete(mailOptOuts).where(eq(mailOptOuts.address, address.toLowerCase()));
  }

  unsubscribeToken(address: string, topic: MailTopic): string {
    const key = address.toLowerCase();
    return `${Buffer.from(key).toString('base64url')}.${topic}.${this.#sign(key, topic)}`;
  }

  /** The address and topic a token stands for, or null when it was not made by us. */
  readToken(token: string): { address: string; topic: MailTopic } | null {
    const [encoded, rawTopic, signature] = token.split('.');
    const topic = MailTopic.safeParse(rawTopic);
    if (!encoded || !signature || !topic.success) return null;
    const address = Buffer.from(encoded, 'base64url').toString();
    const expected = Buffer.from(this.#sign(address, topic.data));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { address, topic: topic.data };
  }

  #sign(address: string, topic: MailTopic): string {
    return createHmac('sha256', this.#secret).update(`${topic}\n${address}`).digest('base64url');
  }
}
