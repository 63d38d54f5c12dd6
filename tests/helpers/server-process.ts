// The environment a server under test runs with, and a whole Lectern server in a child process
// (./lectern-process.ts) for scale-out tests and benchmarks that keep the server apart from its clients.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** Loopback on free ports, one mediasoup worker, quiet logs; no Redis unless `redisUrl`, PGlite unless `databaseUrl`. */
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
    LECTERN_WORKERS: '1',
    LECTERN_LISTEN_IP: '127.0.0.1',
    LECTERN_RTC_PORT: '0',
    // Every test user registers from 127.0.0.1; the per-address limit has its own test.
    LECTERN_REGISTRATIONS_PER_HOUR: '1000000',
  };
}

export class ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;

  constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.child = child;
  }

  /** Spawns the server with this environment (over ours) and resolves once it prints that it listens. */
  static async start(env: Record<string, string>): Promise<ServerProcess> {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'lectern-process.ts')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening`)));
      lines.on('line', (line) => {
        try {
          resolve(JSON.parse(line).url);
        } catch {
          /* a log line, not the ready line */
        }
      });
    });
    return new ServerProcess(url, child);
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
