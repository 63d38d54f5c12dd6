// Registration and password login. Unknown email and wrong password answer the same way (no user probing),
// and an unknown email still costs one hash so timing does not tell them apart either.
import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { users, type UserRole } from '../db/schema.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import type { SessionUser } from './session-store.ts';
import { CodedError } from '../domain-error.ts';

export class AccountError extends CodedError<'email_taken' | 'invalid_credentials' | 'account_disabled'> {}

/** The account as every request sees it (SessionStore selects the same columns). */
export const sessionUserColumns = {
  id: users.id,
  email: users.email,
  displayName: users.displayName,
  role: users.role,
  emailVerified: sql<boolean>`${users.emailVerifiedAt} is not null`.mapWith(Boolean),
};
const publicColumns = sessionUserColumns;

export class Accounts {
  readonly #db: Database;
  #dummyHash: Promise<string> | undefined;

  constructor(db: Database) {
    this.#db = db;
  }

  async register(input: { email: string; password: string; displayName: string; role: UserRole }): Promise<SessionUser> {
    const passwordHash = await hashPassword(input.password);
    const inserted = await this.#db
      .insert(users)
      .values({ email: input.email.toLowerCase(), displayName: input.displayName, passwordHash, role: input.role })
      .onConflictDoNothing()
      .returning(publicColumns);
    const user = inserted[0];
    if (!user) throw new AccountError('email_taken', 'An account with this email already exists');
    return user;
  }

  async authenticate(email: string, password: string): Promise<SessionUser> {
    const rows = await this.#db
      .select({ ...publicColumns, passwordHash: users.passwordHash, disabledAt: users.disabledAt })
      .from(users)
      .where(eq(sql`lower(${users.email})`, email.toLowerCase()))
      .limit(1);
    const row = rows[0];
    if (!row) {
      this.#dummyHash ??= hashPassword('lectern-dummy-password');
      await verifyPassword(await this.#dummyHash, password);
      throw new AccountError('invalid_credentials', 'Wrong email or password');
    }
    if (!(await verifyPassword(row.passwordHash, password))) {
      throw new AccountError('invalid_credentials', 'Wrong email or password');
    }
    // Only after the right password: the answer tells nothing about an account to someone who guesses.
    if (row.disabledAt) throw new AccountError('account_disabled', 'This account is disabled; ask an administrator');
    const { passwordHash: _hash, disabledAt: _disabled, ...user } = row;
    return user;
  }

  async byId(id: string): Promise<SessionUser | undefined> {
    const rows = await this.#db.select(publicColumns).from(users).where(eq(users.id, id)).limit(1);
    return rows[0];
  }

  async byEmail(email: string): Promise<SessionUser | undefined> {
    const rows = await this.#db
      .select(publicColumns)
      .from(users)
      .where(eq(sql`lower(${users.email})`, email.toLowerCase()))
      .limit(1);
    return rows[0];
  }

  /** The person proved they read mail at their address. */
  async markVerified(userId: string): Promise<void> {
    await this.#db
      .update(users)
      .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
      .where(eq(users.id, userId));
  }

  async setPassword(userId: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    await this.#db.update(users).set({ passwordHash }).where(eq(users.id, userId));
  }

  /** Whether `password` is the account's current one (the same argon2 work whatever the answer). */
  async checkPassword(userId: string, password: string): Promise<boolean> {
    const [row] = await this.#db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, userId)).limit(1);
    return row ? verifyPassword(row.passwordHash, password) : false;
  }
}
