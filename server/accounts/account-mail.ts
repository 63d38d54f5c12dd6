// The account messages: "confirm your address" and "reset your password". Requests only queue a row (the same
// work whether or not an account uses the address: one insert), and the row is composed when it is sent: the
// account is looked up then, the one-time token made then (so no usable link waits in the outbox), and a
// request for an address without an account is dropped there, out of any requester's sight.
import type { MailOutboxRow } from '../db/schema.ts';
import type { Accounts } from '../auth/accounts.ts';
import type { MailOutbox, OutboxWriter } from '../mail/mail-outbox.ts';
import type { MailComposer, MailDispatcher } from '../mail/mail-dispatcher.ts';
import { renderMail } from '../mail/mail-layout.ts';
import { en } from '../mail/messages.ts';
import type { AccountTokens } from './account-tokens.ts';

export const VERIFY_TTL_MS = 24 * 3600_000;
export const RESET_TTL_MS = 60 * 60_000;

export interface AccountMailOptions {
  accounts: Accounts;
  tokens: AccountTokens;
  outbox: MailOutbox;
}

export class AccountMail {
  readonly #o: AccountMailOptions;

  constructor(options: AccountMailOptions) {
    this.#o = options;
  }

  /** Queues "confirm your address" for the account. */
  async requestVerification(user: { id: string; email: string }, writer?: OutboxWriter): Promise<void> {
    await this.#o.outbox.enqueue({ kind: 'verify_email', to: user.email, params: { userId: user.id } }, writer);
  }

  /** Queues "reset your password" for whoever owns the address, if anyone: the caller cannot tell. */
  async requestPasswordReset(address: string): Promise<void> {
    await this.#o.outbox.enqueue({ kind: 'password_reset', to: address });
  }

  /** Hands the two composers to the dispatcher. */
  registerWith(dispatcher: MailDispatcher): void {
    dispatcher.register('verify_email', this.#composeVerification);
    dispatcher.register('password_reset', this.#composeReset);
  }

  readonly #composeVerification: MailComposer = async (row: MailOutboxRow, { origin }) => {
    const user = typeof row.params.userId === 'string' ? await this.#o.accounts.byId(row.params.userId) : undefined;
    if (!user) return { drop: 'the account no longer exists' };
    if (user.emailVerified) return { drop: 'the address is already confirmed' };
    if (user.email.toLowerCase() !== row.toAddress) return { drop: 'the account has another address now' };
    const token = await this.#o.tokens.issue(user.id, 'verify_email', VERIFY_TTL_MS);
    return renderMail(
      en.verifyEmail({ name: user.displayName, url: `${origin}/verify-email?token=${token}`, hours: VERIFY_TTL_MS / 3600_000 }),
    );
  };

  readonly #composeReset: MailComposer = async (row: MailOutboxRow, { origin }) => {
    const user = await this.#o.accounts.byEmail(row.toAddress);
    if (!user) return { drop: 'no account uses this address' };
    const token = await this.#o.tokens.issue(user.id, 'reset_password', RESET_TTL_MS);
    return renderMail(
      en.passwordReset({ name: user.displayName, url: `${origin}/reset-password?token=${token}`, minutes: RESET_TTL_MS / 60_000 }),
    );
  };
}
