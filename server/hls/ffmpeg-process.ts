// One ffmpeg child process: spawned directly (no shell), progress read from stdout, the tail of stderr kept for
// diagnostics, the input video size picked out of its stream report. stop() asks ffmpeg to finish (it then
// closes its outputs: the last segment and playlist are written) and kills it when it does not.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { FfmpegProgressParser, type FfmpegProgress } from './progress.ts';

type FfmpegProcessEvents = {
  progress: [FfmpegProgress];
  /** A video input's size, as ffmpeg reports it when it opens the input. */
  inputsize: [{ stream: number; width: number; height: number }];
  /** ffmpeg reported a problem decoding (lost packets, missing key frame). */
  decodeerror: [line: string];
  exit: [code: number | null, signal: NodeJS.Signals | null];
};

const STDERR_TAIL_LINES = 40;
const INPUT_STREAM = /Stream #0:(\d+).*?: Video: .*?, (\d{2,5})x(\d{2,5})/;
const DECODE_TROUBLE = /(Keyframe missing|corrupt|concealing|error while decoding|Missing reference|Discarding interframe)/i;

export class FfmpegProcess extends EventEmitter<FfmpegProcessEvents> {
  readonly #child: ChildProcess;
  readonly #stderrTail: string[] = [];
  #stderrPartial = '';
  #exited = false;
  readonly #exitPromise: Promise<void>;
  /** The last progress report, to tell when it moves. */
  #lastProgress: FfmpegProgress | null = null;
  /** When the progress report last moved (frames or output time). */
  #lastAdvanceAt = Date.now();
  /** Which part of ffmpeg's stream report stderr is in: stream lines look alike under Input and Output. */
  #section: 'input' | 'output' | 'other' = 'other';

  /** Output pipes after stdin, stdout and stderr (file descriptors 3, 4, ...), as asked for by `outputPipes`. */
  readonly outputs: Readable[];

  constructor(ffmpegPath: string, args: readonly string[], outputPipes = 0) {
    super();
    this.#child = spawn(ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe', ...Array<'pipe'>(outputPipes).fill('pipe')] });
    this.outputs = this.#child.stdio.slice(3).map((s) => s as Readable);
    const parser = new FfmpegProgressParser();
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const p of parser.push(chunk)) {
        if (p.frame !== this.#lastProgress?.frame || p.outTimeSeconds !== this.#lastProgress?.outTimeSeconds)
          this.#lastAdvanceAt = Date.now();
        this.#lastProgress = p;
        this.emit('progress', p);
      }
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.#onStderr(chunk));
    // Writing "q" after ffmpeg died raises EPIPE on stdin; nothing to do about it.
    this.#child.stdin!.on('error', () => {});
    this.#exitPromise = new Promise((resolve) => {
      this.#child.once('error', (err) => {
        this.#stderrTail.push(`spawn failed: ${err.message}`);
        if (!this.#exited) {
          this.#exited = true;
          this.emit('exit', null, null);
        }
        resolve();
      });
      this.#child.once('exit', (code, signal) => {
        if (!this.#exited) {
          this.#exited = true;
          this.emit('exit', code, signal);
        }
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#exited;
  }

  /** The last lines ffmpeg wrote to stderr (for logs when it fails). */
  stderrTail(): string {
    return this.#stderrTail.join('\n');
  }

  /**
   * Resolves once ffmpeg's output has not moved for `quietMs` (it has worked through everything its input
   * held and now waits), once it exits, or after `maxMs`. A loaded machine leaves ffmpeg seconds behind
   * real time, with the rest queued in its UDP buffers: ending the input before they are drained loses them.
   */
  async settled(quietMs: number, maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (!this.#exited && Date.now() < deadline && Date.now() - this.#lastAdvanceAt < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Resolves once the process has exited. */
  exitPromise(): Promise<void> {
    return this.#exitPromise;
  }

  /**
   * Asks ffmpeg to finish cleanly, so it writes the last segment and playlists. With a `nudge` (the bridge
   * sends RTCP BYE, which ends ffmpeg's RTP input) ffmpeg reaches the end of its input and exits 0 by
   * itself; SIGINT follows when it has not after a moment (an endless lavfi input keeps it going). ffmpeg
   * blocked reading a silent RTP input does not see a single SIGINT, and a second one would interrupt its
   * final playlist write too, so SIGKILL after `graceMs` is the last resort (playlists are replaced
   * atomically: the last one written stays whole).
   */
  async stop(graceMs = 2000, nudge?: () => void | Promise<void>): Promise<void> {
    if (this.#exited) return;
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    if (nudge) {
      try {
        await nudge();
      } catch {
        // The signal below still asks ffmpeg to finish.
      }
      const interrupt = setTimeout(() => this.#child.kill('SIGINT'), graceMs / 2);
      await this.#exitPromise;
      clearTimeout(interrupt);
    } else {
      this.#child.kill('SIGINT');
      await this.#exitPromise;
    }
    clearTimeout(kill);
  }

  /** Immediate kill (the owner is going away and the output does not matter). */
  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }

  #onStderr(chunk: string): void {
    const text = this.#stderrPartial + chunk;
    const lines = text.split(/\r?\n|\r/);
    this.#stderrPartial = (lines.pop() ?? '').slice(-2000);
    for (const line of lines) {
      if (!line) continue;
      this.#stderrTail.push(line.slice(0, 500));
      if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
      if (line.startsWith('Input #')) this.#section = 'input';
      else if (line.startsWith('Output #') || line.startsWith('Stream mapping')) this.#section = 'output';
      const size = this.#section === 'input' ? INPUT_STREAM.exec(line) : null;
      if (size) {
        this.emit('inputsize', { stream: Number(size[1]), width: Number(size[2]), height: Number(size[3]) });
      } else if (DECODE_TROUBLE.test(line)) {
        this.emit('decodeerror', line);
      }
    }
  }
}
