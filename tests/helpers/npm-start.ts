// Lectern as a newcomer starts it: `npm start` (scripts/lectern.sh start) with the environment's Lectern
// settings removed, so every default applies (HTTP on port 3000, WebRTC on 40000+ on every usable address,
// PGlite, info logs). Only the data directory differs: a fresh one per run, so the test starts from an empty
// database as a fresh clone does and never touches a developer's ./.data. Fixed ports: run under the media lock.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Variables that configure Lectern (or a test run of it): none of them may reach a server started "as-is". */
const CONFIGURING = /^(LECTERN_|DATABASE_URL$|REDIS_URL$|HOST$|PORT$|LOG_LEVEL$|NODE_ENV$|FFMPEG_PATH$|FFPROBE_PATH$|SESSION_DAYS$|TEST_)/;

export interface StartedLectern {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Every log line so far (pino JSON parsed; other lines as { msg }). */
  readonly logs: Record<string, unknown>[];
  /** Runs `npm run <script> -- args` against the same data directory, the way a newcomer would in a second terminal. */
  run(script: string, args?: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export function plainEnvironment(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!CONFIGURING.test(k)) env[k] = v;
  env.LECTERN_DATA_DIR = dataDir;
  return env;
}

export async function npmStart(args: string[] = [], timeoutMs = 240_000): Promise<StartedLectern> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-npm-start-'));
  const env = plainEnvironment(dataDir);
  const child = spawn('bash', ['scripts/lectern.sh', 'start', ...args], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start did not listen within ${timeoutMs} ms:\n${stderr.slice(-20).join('\n')}`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before listening:\n${stderr.slice(-20).join('\n')}`));
    });
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { msg: line };
      }
      logs.push(entry);
      if (entry.msg === 'lectern is listening') {
        clearTimeout(timer);
        resolve(String(entry.url));
      }
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const run: StartedLectern['run'] = (script, scriptArgs = []) =>
    new Promise((resolve) => {
      const c = spawn('npm', ['run', '--silent', script, '--', ...scriptArgs], { cwd: ROOT, env });
      let out = '';
      let err = '';
      c.stdout.on('data', (d: Buffer) => (out += d));
      c.stderr.on('data', (d: Buffer) => (err += d));
      c.once('exit', (code) => resolve({ code, stdout: out, stderr: err }));
    });
  return { url, dataDir, child, logs, run, stop };
}
