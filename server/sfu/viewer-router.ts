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
  /** Producer id -> its pipe into this router (done or under way). */
  readonly #piped = new Map<string, Promise<void>>();
  #seats = 0;

  constructor(router: types.Router, pooled: PooledWorker, source: types.Router | null) {
    this.router = router;
    this.pooled = pooled;
    this.#source = source;
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
  feed(producerId: string): Promise<void> {
    if (!this.#source) return Promise.resolve();
    let piping = this.#piped.get(producerId);
    if (!piping) {
      piping = this.#source.pipeToRouter({ producerId, router: this.router }).then(({ pipeProducer }) => {
        pipeProducer?.observer.once('close', () => this.#piped.delete(producerId));
      });
      piping.catch(() => this.#piped.delete(producerId));
      this.#piped.set(producerId, piping);
    }
    return piping;
  }
}
