// Where a moment of a class falls in its replay, and back. A replay plays the class's runs one after the
// other (a server, ffmpeg or teacher restart starts a new run), so the wall-clock time between two runs is
// not in it: a moment in such a gap shows where the next run begins, a moment before the first run at 0, one
// after the last at the end.
import type { RunTime } from './run-output.ts';

interface PlacedRun {
  /** Wall clock of the run's media time 0, ms since the epoch. */
  startMs: number;
  durationSeconds: number;
  /** Where the run begins in the replay. */
  offsetSeconds: number;
}

/** A stretch of the class the replay does not have: between two runs, at `atSeconds` of the replay. */
export interface ReplayGap {
  atSeconds: number;
  seconds: number;
}

export class ReplayClock {
  readonly #runs: PlacedRun[];
  readonly durationSeconds: number;

  /**
   * `runs` oldest first. A run whose start is unknown (written before runs kept it) follows the one before
   * without a gap; the first one then starts at `firstMedia`.
   */
  constructor(runs: readonly Omit<RunTime, 'runId'>[], firstMedia: Date) {
    let offset = 0;
    let previousEndMs = firstMedia.getTime();
    this.#runs = [];
    for (const run of runs) {
      if (run.durationSeconds <= 0) continue;
      const startMs = run.startedAt?.getTime() ?? previousEndMs;
      this.#runs.push({ startMs, durationSeconds: run.durationSeconds, offsetSeconds: offset });
      offset += run.durationSeconds;
      previousEndMs = startMs + run.durationSeconds * 1000;
    }
    this.durationSeconds = offset;
  }

  /** Seconds into the replay at which the moment `at` of the class is shown. */
  offsetOf(at: Date): number {
    const ms = at.getTime();
    // The last run that had begun by then: a later run wins where two overlap (its start is the surer one).
    let run: PlacedRun | undefined;
    for (const r of this.#runs) if (r.startMs <= ms) run = r;
    if (!run) return 0;
    return round(run.offsetSeconds + Math.min((ms - run.startMs) / 1000, run.durationSeconds));
  }

  /** The moment of the class shown at `offsetSeconds` of the replay (clamped to the replay). */
  wallClockAt(offsetSeconds: number): Date {
    const runs = this.#runs;
    if (!runs.length) throw new Error('The replay has no media');
    const within = Math.min(Math.max(offsetSeconds, 0), this.durationSeconds);
    const run = runs.findLast((r) => r.offsetSeconds <= within) ?? runs[0]!;
    return new Date(run.startMs + (within - run.offsetSeconds) * 1000);
  }

  /** Where the class went on without the replay (more than `minSeconds` between two runs). */
  gaps(minSeconds = 1): ReplayGap[] {
    const gaps: ReplayGap[] = [];
    for (let i = 1; i < this.#runs.length; i++) {
      const before = this.#runs[i - 1]!;
      const run = this.#runs[i]!;
      const seconds = (run.startMs - (before.startMs + before.durationSeconds * 1000)) / 1000;
      if (seconds > minSeconds) gaps.push({ atSeconds: round(run.offsetSeconds), seconds: round(seconds) });
    }
    return gaps;
  }
}

/** Milliseconds are as precise as anything on a replay's timeline gets. */
function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
