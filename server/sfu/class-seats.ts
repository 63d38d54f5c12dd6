// A class's WebRTC seats against its cap (LECTERN_MAX_WEBRTC_VIEWERS), counted class-wide: every student or WHEP
// player seated on any router of the class takes one, and gives it back when it stops receiving. One process
// counts in memory (LocalClassSeats, here); the nodes of a cluster count together in Redis
// (cluster/redis-class-seats.ts), so a class seats its cap in all, not its cap on each node. A worker's own room
// (RoomCapacity.seatsPerWorker) is the machine's and stays counted on the worker.

/** The class-wide seat count both the in-process and the cluster store keep; its owner closes it. */
export interface ClassSeats {
  /** The most WebRTC students one class seats (undefined: no cap; the workers' room decides alone). */
  readonly cap: number | undefined;
  readonly closed: boolean;
  /** Takes one of the class's seats when fewer than the cap are taken (at once, whoever else takes one). */
  take(classId: string): Promise<boolean>;
  /** Gives back a seat `take` gave. */
  release(classId: string): Promise<void>;
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

  take(classId: string): Promise<boolean> {
    const n = this.#taken.get(classId) ?? 0;
    if (this.#closed || (this.cap !== undefined && n >= this.cap)) return Promise.resolve(false);
    this.#taken.set(classId, n + 1);
    return Promise.resolve(true);
  }

  release(classId: string): Promise<void> {
    const n = (this.#taken.get(classId) ?? 0) - 1;
    if (n > 0) this.#taken.set(classId, n);
    else this.#taken.delete(classId);
    return Promise.resolve();
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
