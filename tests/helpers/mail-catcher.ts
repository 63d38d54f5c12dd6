// A real SMTP server in the test process (smtp-server), parsing every message it accepts (mailparser): what
// tests read to follow verification, reset and invitation links, and what they stop and start again to play
// an SMTP outage. One shared catcher per test process receives the mail of every server the helpers start.
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

export interface CaughtMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** Parsed headers (mailparser folds some, e.g. List-* into `list`) */
  headers: Map<string, unknown>;
  /** Each header as it arrived (lower-cased name -> unfolded value) */
  rawHeaders: Map<string, string>;
  receivedAt: number;
}

export class MailCatcher {
  readonly messages: CaughtMail[] = [];
  #server: SMTPServer | undefined;
  #port = 0;
  readonly #waiters = new Set<() => void>();

  static async start(port = 0): Promise<MailCatcher> {
    const catcher = new MailCatcher();
    await catcher.listen(port);
    return catcher;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  /** Starts accepting again (after stop()), on the same port unless told otherwise. */
  async listen(port = this.#port): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      closeTimeout: 200,
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (parsed) => {
            this.messages.push({
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              from: typeof session.envelope.mailFrom === 'object' && session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              messageId: parsed.messageId ?? '',
              headers: parsed.headers as Map<string, unknown>,
              rawHeaders: new Map(
                parsed.headerLines.map((h) => [
                  h.key,
                  h.line
                    .slice(h.line.indexOf(':') + 1)
                    .replace(/\r?\n\s+/g, ' ')
                    .trim(),
                ]),
              ),
              receivedAt: Date.now(),
            });
            for (const wake of this.#waiters) wake();
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.server.address();
    this.#port = typeof address === 'object' && address ? address.port : port;
    this.#server = server;
  }

  /** Stops accepting connections (an SMTP outage): senders get "connection refused". */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Messages to one address, oldest first. */
  to(address: string): CaughtMail[] {
    return this.messages.filter((m) => m.to.includes(address.toLowerCase()));
  }

  /** The first message (already here or arriving within `timeoutMs`) that matches. */
  async waitFor(match: (m: CaughtMail) => boolean, timeoutMs = 20_000): Promise<CaughtMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching mail within ${timeoutMs} ms (${this.messages.length} caught)`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }
}

/** The link in a message's text that starts with `prefix` (`${server.url}/verify-email`), or whose path does (`/verify-email`). */
export function linkIn(mail: CaughtMail, prefix: string): URL {
  const found = mail.text
    .match(/https?:\/\/\S+/g)
    ?.find((l) => (prefix.startsWith('/') ? new URL(l).pathname === prefix : l.startsWith(prefix)));
  if (!found) throw new Error(`no link starting with ${prefix} in “${mail.subject}”:\n${mail.text}`);
  return new URL(found);
}

let shared: Promise<MailCatcher> | undefined;
/** The catcher every server started by the helpers sends to (one per test process). */
export function sharedMailCatcher(): Promise<MailCatcher> {
  shared ??= MailCatcher.start();
  return shared;
}
