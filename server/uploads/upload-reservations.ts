// Lesson video uploads arriving in this process: a lesson is reserved before its body is streamed, so two
// uploads for one lesson cannot both pass the "is it busy?" check while their bodies arrive, and an
// uploader has at most `maxPerUploader` bodies arriving at once (each holds a connection and fills the disk).
// Another process is not counted here; its enqueue is kept apart by the lock in TranscodeQueue.enqueue().
import { CodedError } from '../domain-error.ts';

export type UploadRefusal = 'lesson_busy' | 'uploader_busy';

export class UploadRefused extends CodedError<UploadRefusal> {}

/** One upload's hold on its lesson and on its uploader's allowance; release() is idempotent. */
export interface UploadReservation {
  readonly lessonId: string;
  readonly uploaderId: string;
  release(): void;
}

export class UploadReservations {
  readonly maxPerUploader: number;
  readonly #lessons = new Set<string>();
  readonly #perUploader = new Map<string, number>();

  constructor(options: { maxPerUploader: number }) {
    this.maxPerUploader = options.maxPerUploader;
  }

  /** Reserves synchronously (no await between the check and the hold), or throws UploadRefused. */
  reserve(lessonId: string, uploaderId: string): UploadReservation {
    if (this.#lessons.has(lessonId)) throw new UploadRefused('lesson_busy', 'A video for this lesson is already being uploaded');
    const mine = this.#perUploader.get(uploaderId) ?? 0;
    if (mine >= this.maxPerUploader) {
      const n = this.maxPerUploader;
      throw new UploadRefused(
        'uploader_busy',
        `You already have ${n} upload${n === 1 ? '' : 's'} in progress; wait for one to finish before starting another`,
      );
    }
    this.#lessons.add(lessonId);
    this.#perUploader.set(uploaderId, mine + 1);
    let held = true;
    return {
      lessonId,
      uploaderId,
      release: () => {
        if (!held) return;
        held = false;
        this.#lessons.delete(lessonId);
        const left = (this.#perUploader.get(uploaderId) ?? 1) - 1;
        if (left > 0) this.#perUploader.set(uploaderId, left);
        else this.#perUploader.delete(uploaderId);
      },
    };
  }

  /** Whether an upload for this lesson is arriving right now. */
  holds(lessonId: string): boolean {
    return this.#lessons.has(lessonId);
  }

  /** How many of this uploader's uploads are arriving right now. */
  inProgress(uploaderId: string): number {
    return this.#perUploader.get(uploaderId) ?? 0;
  }
}
