// One of a live class's routers, on one worker, with the students seated on it. The origin (source null)
// carries what is published; any other is fed from it: each source is piped once (router.pipeToRouter keeps
// one PipeTransport pair per router pair), and its pipe producer closes when the source does. The room owns
// these routers and closes them with the class.
import type { types } from 'mediasoup';
import type { PooledWorker } from './worker-pool.ts';

export class ViewerRouter {
  readonly router: types.Router;
  readonly pooled: PooledWorker;
  readonly #source: types.Router | null;
  /**
   * Whether a pipe producer takes its source's id. Not on the source's own worker: the worker knows every
   * producer by id, and a second one with the same id is refused.
   */
  readonly #keepIds: boolean;
  /** Makes a producer present on the source first (when the source is itself fed from the origin). */
  readonly #upstream: (producerId: string) => Promise<void>;
  /** Producer id -> its pipe into this router (done or under way), resolving to the pipe producer's id. */
  readonly #piped = new Map<string, Promise<string>>();
  #seats = 0;

  constructor(
    router: types.Router,
    pooled: PooledWorker,
    source: types.Router | null,
    options: { keepIds?: boolean; upstream?: (producerId: string) => Promise<void> } = {},
  ) {
    this.router = router;
    this.pooled = pooled;
    this.#source = source;
    this.#keepIds = options.keepIds ?? true;
    this.#upstream = options.upstream ?? (() => Promise.resolve());
    // The worker's count of seats must not keep this router's students once it is gone.
    router.observer.once('close', () => {
      pooled.seats -= this.#seats;
      this.#seats = 0;
    });
  }

  /** Students receiving from this router. */
  get seats(): number {
    return this.#seats;
  }

  take(): void {
    this.#seats++;
    this.pooled.seats++;
  }

  release(): void {
    if (this.#seats === 0) return;
    this.#seats--;
    this.pooled.seats--;
  }

  /** Makes the source's producer (same id) consumable here; at once on the origin. */
  async feed(producerId: string): Promise<void> {
    await this.pipe(producerId);
  }

  /** Makes the source's producer consumable here; resolves to its id on this router (its own unless `keepIds`). */
  pipe(producerId: string): Promise<string> {
    if (!this.#source) return Promise.resolve(producerId);
    let piping = this.#piped.get(producerId);
    if (!piping) {
      const source = this.#source;
      piping = this.#upstream(producerId)
        .then(() => source.pipeToRouter({ producerId, router: this.router, keepId: this.#keepIds }))
        .then(({ pipeProducer }) => {
          if (!pipeProducer) throw new Error(`Producer ${producerId} was not piped`);
          pipeProducer.observer.once('close', () => this.#piped.delete(producerId));
          return pipeProducer.id;
        });
      piping.catch(() => this.#piped.delete(producerId));
      this.#piped.set(producerId, piping);
    }
    return piping;
  }
}
