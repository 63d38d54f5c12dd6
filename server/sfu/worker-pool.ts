// One mediasoup worker per core (configurable), each with a WebRtcServer so that all WebRTC traffic of a
// worker shares one UDP and one TCP port (firewall-friendly). A worker that dies is replaced; the routers it
// carried close with it, which closes their rooms (clients then rejoin on a live worker). `workerdied` and
// `workerreplaced` tell observers (health, tests).
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../log.ts';

export interface WorkerPoolOptions {
  size: number;
  workerBin?: string | undefined;
  listenIp: string;
  announcedIp?: string | undefined;
  /** First port of the WebRtcServers (worker i listens on port + i); 0 picks free ports. */
  rtcPort: number;
  rtcMinPort: number;
  rtcMaxPort: number;
  log: Logger;
}

export interface PooledWorker {
  readonly index: number;
  readonly worker: ms.Worker;
  readonly webRtcServer: ms.WebRtcServer;
  /** Routers currently open on this worker: the load measure for placing a new class. */
  routers: number;
}

export interface WorkerPoolHealth {
  configured: number;
  alive: number;
  workers: { index: number; pid: number; routers: number }[];
}

type WorkerPoolEvents = {
  workerdied: [index: number, error: Error];
  workerreplaced: [worker: PooledWorker];
};

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #slots: (PooledWorker | undefined)[] = [];
  #closed = false;
  readonly #restartTimers = new Set<NodeJS.Timeout>();

  constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async start(): Promise<void> {
    const started = await Promise.all(Array.from({ length: this.#options.size }, (_, i) => this.#spawn(i)));
    started.forEach((w, i) => (this.#slots[i] = w));
    this.#options.log.info({ workers: started.map((w) => w.worker.pid) }, 'mediasoup workers started');
  }

  /** The alive worker with the fewest routers. */
  leastLoaded(): PooledWorker {
    let best: PooledWorker | undefined;
    for (const slot of this.#slots) if (slot && !slot.worker.closed && (!best || slot.routers < best.routers)) best = slot;
    if (!best) throw new Error('No mediasoup worker is available');
    return best;
  }

  /** Creates a router on the least-loaded worker and keeps the load count right until it closes. */
  async createRouter(options: ms.RouterOptions): Promise<{ router: ms.Router; pooled: PooledWorker }> {
    const pooled = this.leastLoaded();
    const router = await pooled.worker.createRouter(options);
    pooled.routers++;
    router.observer.once('close', () => pooled.routers--);
    return { router, pooled };
  }

  health(): WorkerPoolHealth {
    const alive = this.#slots.filter((s): s is PooledWorker => !!s && !s.worker.closed);
    return {
      configured: this.#options.size,
      alive: alive.length,
      workers: alive.map((s) => ({ index: s.index, pid: s.worker.pid, routers: s.routers })),
    };
  }

  all(): PooledWorker[] {
    return this.#slots.filter((s): s is PooledWorker => !!s && !s.worker.closed);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#restartTimers) clearTimeout(t);
    for (const slot of this.#slots) slot?.worker.close();
  }

  async #spawn(index: number): Promise<PooledWorker> {
    const o = this.#options;
    const worker = await mediasoup.createWorker({
      logLevel: 'warn',
      ...(o.workerBin ? { workerBin: o.workerBin } : {}),
      appData: { index },
    });
    const listen = (protocol: 'udp' | 'tcp'): ms.WebRtcServerListenInfo => ({
      protocol,
      ip: o.listenIp,
      ...(o.announcedIp ? { announcedAddress: o.announcedIp } : {}),
      ...(o.rtcPort ? { port: o.rtcPort + index } : { portRange: { min: o.rtcMinPort, max: o.rtcMaxPort } }),
    });
    // A worker without its WebRtcServer (its port taken, say) is of no use: close it, or it outlives the failure.
    const webRtcServer = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] }).catch((err: unknown) => {
      worker.close();
      throw err;
    });
    const pooled: PooledWorker = { index, worker, webRtcServer, routers: 0 };
    worker.on('died', (error) => this.#onDied(pooled, error));
    return pooled;
  }

  #onDied(pooled: PooledWorker, error: Error): void {
    if (this.#closed) return;
    this.#options.log.error({ index: pooled.index, pid: pooled.worker.pid, err: error }, 'mediasoup worker died; restarting');
    this.#slots[pooled.index] = undefined;
    this.emit('workerdied', pooled.index, error);
    const attempt = (delayMs: number): void => {
      const timer = setTimeout(() => {
        this.#restartTimers.delete(timer);
        if (this.#closed) return;
        this.#spawn(pooled.index).then(
          (replacement) => {
            if (this.#closed) return replacement.worker.close();
            this.#slots[pooled.index] = replacement;
            this.#options.log.info({ index: pooled.index, pid: replacement.worker.pid }, 'mediasoup worker replaced');
            this.emit('workerreplaced', replacement);
          },
          (err: unknown) => {
            this.#options.log.error({ err, index: pooled.index }, 'mediasoup worker restart failed');
            attempt(Math.min(delayMs * 2, 30_000));
          },
        );
      }, delayMs);
      this.#restartTimers.add(timer);
    };
    attempt(500);
  }
}
