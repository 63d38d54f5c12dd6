// One ffmpeg run turning an uploaded source into HLS in a scratch directory. Owns the process: close()
// kills it. Emits progress percents; `done` resolves on success and rejects with ffmpeg's last error lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { FfmpegProgressParser } from '../hls/progress.ts';

export type TranscodeJobEvents = {
  progress: [percent: number];
};

export class TranscodeFailed extends Error {}

export class TranscodeJob extends EventEmitter<TranscodeJobEvents> {
  readonly id: string;
  readonly done: Promise<void>;
  #process: ChildProcess | null;
  #closed = false;

  constructor(options: { id: string; ffmpegPath: string; args: string[]; durationSeconds: number }) {
    super();
    this.id = options.id;
    const child = spawn(options.ffmpegPath, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#process = child;
    const parser = new FfmpegProgressParser();
    const total = Math.max(1, options.durationSeconds);
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const block of parser.push(chunk)) {
        // 100 only when ffmpeg says it is done: the last blocks can reach the duration before the files are.
        this.emit('progress', block.done ? 100 : Math.min(99, Math.floor((block.outTimeSeconds / total) * 100)));
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    this.done = new Promise<void>((resolve, reject) => {
      child.once('error', (err) => reject(new TranscodeFailed(`ffmpeg could not start: ${err.message}`)));
      child.once('close', (code, signal) => {
        this.#process = null;
        if (code === 0) return resolve();
        if (this.#closed) return reject(new TranscodeFailed('Transcode stopped'));
        const lines = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
        reject(new TranscodeFailed(`Transcode failed (${signal ?? `exit ${code}`})${lines ? `: ${lines}` : ''}`));
      });
    });
    this.done.catch(() => {}); // observed by the owner; never an unhandled rejection
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops ffmpeg (SIGKILL after 3 s if it lingers). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const child = this.#process;
    if (!child) return;
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    force.unref();
    child.once('close', () => clearTimeout(force));
  }
}
