// Parses ffmpeg's `-progress pipe:1` output: blocks of key=value lines, each ending with progress=continue|end.
export interface FfmpegProgress {
  /** Encoded media time so far, in seconds. */
  outTimeSeconds: number;
  /** Frames written (of the first video output). */
  frame: number;
  fps: number;
  /** Encoding speed as a multiple of real time (ffmpeg's "speed=1.5x"), NaN while unknown. */
  speed: number;
  done: boolean;
}

export class FfmpegProgressParser {
  #buffer = '';
  #fields = new Map<string, string>();

  /** Feeds a chunk of stdout; returns every block completed by it. */
  push(chunk: string): FfmpegProgress[] {
    this.#buffer += chunk;
    const blocks: FfmpegProgress[] = [];
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key !== 'progress') {
        this.#fields.set(key, value);
        continue;
      }
      blocks.push(this.#block(value === 'end'));
      this.#fields.clear();
    }
    // A line never gets this long; bound the buffer against garbage.
    if (this.#buffer.length > 4096) this.#buffer = '';
    return blocks;
  }

  #block(done: boolean): FfmpegProgress {
    const f = this.#fields;
    const us = Number(f.get('out_time_us') ?? f.get('out_time_ms'));
    return {
      outTimeSeconds: Number.isFinite(us) && us > 0 ? us / 1e6 : 0,
      frame: Number(f.get('frame') ?? 0) || 0,
      fps: Number(f.get('fps') ?? 0) || 0,
      speed: Number.parseFloat((f.get('speed') ?? '').replace('x', '')),
      done,
    };
  }
}
