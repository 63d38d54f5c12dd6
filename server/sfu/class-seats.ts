// A class's WebRTC seats against its cap (LECTERN_MAX_WEBRTC_VIEWERS), counted class-wide: every student or WHEP
// player seated on any router of the class takes one, and gives it back when it stops receiving. One process
// counts in memory (LocalClassSeats, here); the nodes of a cluster count together in Redis
// (cluster/redis-class-seats.ts), so a class seats its cap in all, not its cap on each node. A worker's own room
// (RoomCapacity.seatsPerWorker) is the machine's and stays counted on the worker.

/** One seat taken; its holder gives it back once, when the student stops receiving. */
export interface ClassSeat {
  release(): void;
}

/** The class-wide seat count both the in-process and the cluster store keep; its owner closes it. */
export interface ClassSeats {
  /** The most WebRTC students one class seats (undefined: no cap; the workers' room decides alone). */
  readonly cap: number | undefined;
  readonly closed: boolean;
  /** One of the class's seats when fewer than the cap are taken (at once, whoever else takes one); else undefined. */
  take(classId: string): Promise<ClassSeat | undefined>;
  /** The seats of the class taken now. */
  taken(classId: string): Promise<number>;
  close(): Promise<void>;
}

/** The seats of one process's classes, in memory. */
export class LocalClassSeats implements ClassSeats {
  readonly cap: number | undefined;
  readonly #taken = new Map<string, number>();
  #closed = false;

  constructor(cap: number | undefined) {
    this.cap = cap;
  }

  get closed(): boolean {
    return this.#closed;
  }

  take(classId: string): Promise<ClassSeat | undefined> {
    const n = this.#taken.get(classId) ?? 0;
    if (this.#closed || (this.cap !== undefined && n >= this.cap)) return Promise.resolve(undefined);
    this.#taken.set(classId, n + 1);
    let held = true;
    const release = (): void => {
      if (!held || this.#closed) return;
      held = false;
      const left = (this.#taken.get(classId) ?? 1) - 1;
      if (left > 0) this.#taken.set(classId, left);
      else this.#taken.delete(classId);
    };
    return Promise.resolve({ release });
  }

  taken(classId: string): Promise<number> {
    return Promise.resolve(this.#taken.get(classId) ?? 0);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#taken.clear();
    return Promise.resolve();
  }
}
