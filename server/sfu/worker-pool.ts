// One mediasoup worker per core (configurable), each with a WebRtcServer so that all WebRTC traffic of a
// worker shares one UDP and one TCP port (firewall-friendly) on each address it announces (rtc-addresses.ts). A worker that dies is replaced; the routers it
// carried close with it, which closes their rooms (clients then rejoin on a live worker). `workerdied` and
// `workerreplaced` tell observers (health, tests).
import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';
import type { Logger } from '../log.ts';
import { ConfigError } from '../config-error.ts';
import { planRtcAddresses, type RtcAddressPlan } from './rtc-addresses.ts';

export interface WorkerPoolOptions {
  size: number;
  workerBin?: string | undefined;
  listenIp: string;
  /** LECTERN_ANNOUNCED_IP, parsed: empty means "every usable address of this machine" under a wildcard. */
  announcedIps: string[];
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
  /** The UDP and TCP port its WebRtcServer listens on (on every announced address). */
  readonly port: number;
  /** Routers currently open on this worker. */
  routers: number;
  /** Students receiving over WebRTC on this worker, every class counted (ClassroomRoom keeps it). */
  seats: number;
}

export interface WorkerPoolHealth {
  configured: number;
  alive: number;
  workers: { index: number; pid: number; routers: number; seats: number }[];
}

type WorkerPoolEvents = {
  workerdied: [index: number, error: Error];
  workerreplaced: [worker: PooledWorker];
};

export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  /** Where browsers reach the WebRtcServers; fixed at construction (a bad configuration throws there). */
  readonly addresses: RtcAddressPlan;
  readonly #slots: (PooledWorker | undefined)[] = [];
  #closed = false;
  readonly #restartTimers = new Set<NodeJS.Timeout>();

  constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
    this.addresses = planRtcAddresses(options.listenIp, options.announcedIps);
  }

  /** The WebRtcServer ports: worker i listens on the first + i (0 = picked per worker from the range). */
  get rtcPorts(): number[] {
    return this.all().map((w) => w.port);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async start(): Promise<void> {
    const settled = await Promise.allSettled(Array.from({ length: this.#options.size }, (_, i) => this.#spawn(i)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed) {
      for (const w of started) w.worker.close();
      throw failed.reason;
    }
    started.forEach((w, i) => (this.#slots[i] = w));
    const { announced, warnings } = this.addresses;
    const ports = started.map((w) => w.port);
    this.#options.log.info(
      { workers: started.map((w) => w.worker.pid), announced, ports },
      `mediasoup workers started; browsers reach WebRTC at ${announced.join(', ')} (UDP and TCP port ${ports.join(', ')})`,
    );
    for (const warning of warnings) this.#options.log.warn(warning);
  }

  /** The alive worker with the fewest seated students, then the fewest routers. */
  leastLoaded(): PooledWorker {
    let best: PooledWorker | undefined;
    for (const slot of this.all()) {
      if (!best || slot.seats < best.seats || (slot.seats === best.seats && slot.routers < best.routers)) best = slot;
    }
    if (!best) throw new Error('No mediasoup worker is available');
    return best;
  }

  /** Creates a router (on `on`, else the least-loaded worker) and keeps the load count right until it closes. */
  async createRouter(options: ms.RouterOptions, on?: PooledWorker): Promise<{ router: ms.Router; pooled: PooledWorker }> {
    const pooled = on ?? this.leastLoaded();
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
      workers: alive.map((s) => ({ index: s.index, pid: s.worker.pid, routers: s.routers, seats: s.seats })),
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
    const port = o.rtcPort ? o.rtcPort + index : undefined;
    const listenInfos = this.addresses.endpoints.flatMap((endpoint) =>
      (['udp', 'tcp'] as const).map((protocol): ms.WebRtcServerListenInfo => ({
        protocol,
        ...endpoint,
        ...(port ? { port } : { portRange: { min: o.rtcMinPort, max: o.rtcMaxPort } }),
      })),
    );
    let webRtcServer: ms.WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({ listenInfos });
    } catch (err) {
      worker.close();
      const inUse = /EADDRINUSE|address already in use/i.test(String(err));
      const ips = this.addresses.endpoints.map((e) => e.ip).join(', ');
      throw new ConfigError(
        inUse
          ? `WebRTC port ${port ?? `${o.rtcMinPort}-${o.rtcMaxPort}`} is already in use on ${ips} (another Lectern running?): ` +
              'stop it or set LECTERN_RTC_PORT'
          : `WebRTC cannot listen on ${ips} port ${port ?? 'range'}: ${(err as Error).message}`,
      );
    }
    // With a port range, every listen info may get its own port; the first is the one worth reporting.
    const boundPort = port ?? webRtcServerPort(webRtcServer);
    const pooled: PooledWorker = { index, worker, webRtcServer, port: await boundPort, routers: 0, seats: 0 };
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

async function webRtcServerPort(server: ms.WebRtcServer): Promise<number> {
  const dump = await server.dump();
  return dump.udpSockets[0]?.port ?? dump.tcpServers[0]?.port ?? 0;
}
