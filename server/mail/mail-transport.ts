// How a composed message leaves the server: over SMTP (nodemailer) when LECTERN_SMTP_URL is set, otherwise
// printed to the log so that a fresh clone still shows every link it would have mailed.
import type { Logger } from '../log.ts';
import { LogMailTransport } from './log-mail-transport.ts';
import { SmtpMailTransport } from './smtp-mail-transport.ts';

export interface OutgoingMail {
  /** Stable across retries (derived from the outbox row), so a receiver can tell a repeat from a new message. */
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'log';
  /** Resolves once the next hop took the message; throws MailDeliveryError otherwise. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

export class MailDeliveryError extends Error {
  /** True when retrying cannot help (the server refused this recipient or message for good). */
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean, options?: ErrorOptions) {
    super(message, options);
    this.permanent = permanent;
  }
}

export function createMailTransport(smtpUrl: string | undefined, log: Logger): MailTransport {
  return smtpUrl ? new SmtpMailTransport(smtpUrl) : new LogMailTransport(log);
}
