// Saves a viewer's position in a lesson (uploaded video or replay): at most every 5 s while playing, and
// always when the page goes away or is hidden (keepalive survives the unload). One piece for every player page.
import type { LessonProgressView } from '@lectern/contracts/progress';

const SAVE_EVERY_MS = 5000;

export class ProgressSaver {
  status = $state<'idle' | 'saving' | 'saved' | 'failed'>('idle');
  progress = $state<LessonProgressView | null>(null);
  readonly #lessonId: () => string | undefined;
  readonly #fallbackDuration: () => number;
  #position = 0;
  #duration = 0;
  #lastAt = 0;
  #lastSent = -1;

  /** `fallbackDuration` stands in until the player knows the media's length (e.g. the recording's). */
  constructor(lessonId: () => string | undefined, options: { initial?: LessonProgressView | null; fallbackDuration?: () => number } = {}) {
    this.#lessonId = lessonId;
    this.progress = options.initial ?? null;
    this.#fallbackDuration = options.fallbackDuration ?? (() => 0);
  }

  /** The player's progress callback. */
  readonly onprogress = (seconds: number, total: number): void => {
    this.#position = seconds;
    this.#duration = total;
    this.save();
  };

  save(force = false): void {
    const lessonId = this.#lessonId();
    const duration = Number.isFinite(this.#duration) && this.#duration > 0 ? this.#duration : this.#fallbackDuration();
    if (!lessonId || !(duration > 0)) return;
    const now = Date.now();
    if (!force && now - this.#lastAt < SAVE_EVERY_MS) return;
    if (Math.floor(this.#position) === this.#lastSent) return;
    this.#lastAt = now;
    this.#lastSent = Math.floor(this.#position);
    this.status = 'saving';
    const body = JSON.stringify({ positionSeconds: Math.min(this.#position, duration), durationSeconds: duration });
    fetch(`/api/lessons/${lessonId}/progress`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body, keepalive: true })
      .then(async (res) => {
        this.status = res.ok ? 'saved' : 'failed';
        const answer = res.ok ? ((await res.json()) as { progress?: LessonProgressView }) : null;
        if (answer?.progress) this.progress = answer.progress;
      })
      .catch(() => (this.status = 'failed'));
  }

  readonly flush = (): void => this.save(true);

  /** Saves when the page is hidden or goes away; returns what undoes it (also saving one last time). */
  attach(): () => void {
    const onVisibility = () => document.visibilityState === 'hidden' && this.flush();
    addEventListener('pagehide', this.flush);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      removeEventListener('pagehide', this.flush);
      document.removeEventListener('visibilitychange', onVisibility);
      this.flush();
    };
  }
}
