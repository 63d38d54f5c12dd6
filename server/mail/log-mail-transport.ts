// Without SMTP: each message goes to the log, one structured line (to, subject, links) on the logger and the
// message itself as a readable block on stderr, so whoever runs `npm start` can follow a verification link.
import type { Logger } from '../log.ts';
import type { MailTransport, OutgoingMail } from './mail-transport.ts';

export class LogMailTransport implements MailTransport {
  readonly kind = 'log';
  readonly #log: Logger;
  readonly #write: (text: string) => void;

  constructor(log: Logger, write: (text: string) => void = (text) => void process.stderr.write(text)) {
    this.#log = log;
    this.#write = write;
  }

  async send(mail: OutgoingMail): Promise<void> {
    const links = [...new Set(mail.text.match(/https?:\/\/\S+/g) ?? [])];
    this.#log.info({ to: mail.to, subject: mail.subject, links }, 'mail printed, not sent (set LECTERN_SMTP_URL to send mail)');
    const rule = '-'.repeat(72);
    this.#write(`\n${rule}\nMail to: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text.trimEnd()}\n${rule}\n`);
  }

  close(): void {}
}
