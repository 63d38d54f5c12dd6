// Sends over SMTP with nodemailer's pooled transport (a few reused connections rather than one per message).
import { createTransport, type Mail } from 'nodemailer';
import { MailDeliveryError, type MailTransport, type OutgoingMail } from './mail-transport.ts';

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

export class SmtpMailTransport implements MailTransport {
  readonly kind = 'smtp';
  readonly #transport: Mail;

  constructor(url: string) {
    this.#transport = createTransport({
      url,
      pool: true,
      maxConnections: 2,
      // Short timeouts: an unreachable server is an ordinary retry, not a sender stuck for minutes.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    try {
      await this.#transport.sendMail({
        messageId: mail.messageId,
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        headers: mail.headers,
      });
    } catch (err) {
      const failure = err as SmtpFailure;
      // 5xx to the envelope or the message is the server's final word on this message; anything else
      // (connection refused, timeouts, 4xx, a wrong password) may pass on a later try.
      const permanent = (failure.code === 'EENVELOPE' || failure.code === 'EMESSAGE') && (failure.responseCode ?? 0) >= 500;
      throw new MailDeliveryError(failure.response ?? failure.message ?? String(err), permanent, { cause: err });
    }
  }

  close(): void {
    this.#transport.close();
  }
}
