// The environment a server under test runs with, and a whole Lectern server in a child process
// (./lectern-process.ts) for scale-out tests and benchmarks that keep the server apart from its clients.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { REDIS_PREFIX } from './redis.ts';
import { sharedMailCatcher } from './mail-catcher.ts';

/**
 * Loopback on free ports, one mediasoup worker, quiet logs; no Redis unless `redisUrl` (then with this test
 * run's own channel prefix), PGlite unless `databaseUrl`.
 */
export function serverEnv(options: {
  dataDir: string;
  databaseUrl?: string | undefined;
  redisUrl?: string | undefined;
}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    LECTERN_DATA_DIR: options.dataDir,
    DATABASE_URL: options.databaseUrl ?? '',
    REDIS_URL: options.redisUrl ?? '',
    LECTERN_REDIS_PREFIX: REDIS_PREFIX,
    LECTERN_WORKERS: '1',
    LECTERN_LISTEN_IP: '127.0.0.1',
    LECTERN_RTC_PORT: '0',
    // Every test user registers from 127.0.0.1; the per-address limit has its own test.
    LECTERN_REGISTRATIONS_PER_HOUR: '1000000',
  };
}

/** One pino line the server wrote (level 50 = error, 40 = warn, 30 = info). */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function parseLogLine(text: string): LogLine | undefined {
  try {
    const line = JSON.parse(text) as Partial<LogLine>;
    return typeof line.level === 'number' && typeof line.msg === 'string' ? (line as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

export class ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every log line so far (set LOG_LEVEL in the environment to get any). */
  readonly logs: LogLine[];
  readonly #waiters = new Set<(line: LogLine) => void>();

  constructor(url: string, child: ChildProcess, logs: LogLine[], lines: readline.Interface) {
    this.url = url;
    this.child = child;
    this.logs = logs;
    lines.on('line', (text) => {
      const line = parseLogLine(text);
      if (!line) return;
      this.logs.push(line);
      for (const waiter of this.#waiters) waiter(line);
    });
  }

  /** Spawns the server with this environment (over ours) and resolves once it prints that it listens. */
  static async start(env: Record<string, string>): Promise<ServerProcess> {
    // Mail goes to this test process's SMTP catcher (registerUser follows the verification link from it).
    const smtp = { LECTERN_SMTP_URL: (await sharedMailCatcher()).url };
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'lectern-process.ts')], {
      env: { ...process.env, ...smtp, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: child.stdout! });
    const logs: LogLine[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening`)));
      const onLine = (text: string): void => {
        const log = parseLogLine(text);
        if (log) return void logs.push(log);
        try {
          const ready = JSON.parse(text) as { url?: string };
          if (!ready.url) return;
          lines.off('line', onLine);
          resolve(ready.url);
        } catch {
          /* not JSON */
        }
      };
      lines.on('line', onLine);
    });
    return new ServerProcess(url, child, logs, lines);
  }

  /** The first log line (already written, or coming within `timeoutMs`) that passes `match`. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    const seen = this.logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (line: LogLine): void => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(line);
      };
      this.#waiters.add(waiter);
    });
  }

  /** SIGTERM (the server closes cleanly), SIGKILL if it is still running 10 s later. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    let timer: NodeJS.Timeout | undefined;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
    clearTimeout(timer);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
