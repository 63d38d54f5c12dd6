// A userspace network impairment for UDP (this kernel has no netem): a relay that stands between a page and the
// peer it talks to, and delays and drops packets each way. A page is pointed at the relay (its ICE candidate
// names the relay's port); for every address that sends to the relay, the relay opens an upstream socket of its
// own towards the target, like a NAT, so replies come back the same way. The packet loop runs on a worker
// thread, away from the bench's and the server's event loop, so its timers are not held up by them.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface Impairment {
  /** One-way delay, each direction (ms). */
  delayMs: number;
  /** Extra random delay, uniform in [0, jitterMs], each direction (packets stay in order). */
  jitterMs: number;
  /** Share of packets dropped, each direction (0..1). */
  loss: number;
}

/** Parses "delay=20ms,loss=1%[,jitter=5ms]". */
export function parseImpairment(text: string): Impairment {
  const out: Impairment = { delayMs: 0, jitterMs: 0, loss: 0 };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(delay|jitter|loss)=(\d+(?:\.\d+)?)(ms|%)?$/.exec(part);
    if (!m) throw new Error(`--impair: cannot read "${part}" (use delay=20ms,loss=1%,jitter=5ms)`);
    const value = Number(m[2]);
    if (m[1] === 'loss') {
      if (m[3] !== '%' || value >= 100) throw new Error('--impair: loss is a percentage below 100 (loss=1%)');
      out.loss = value / 100;
    } else {
      if (m[3] && m[3] !== 'ms') throw new Error(`--impair: ${m[1]} is in milliseconds (${m[1]}=20ms)`);
      if (m[1] === 'delay') out.delayMs = value;
      else out.jitterMs = value;
    }
  }
  return out;
}

export function describeImpairment(i: Impairment): string {
  return `delay=${i.delayMs}ms,loss=${Math.round(i.loss * 1000) / 10}%${i.jitterMs ? `,jitter=${i.jitterMs}ms` : ''}`;
}

export interface RelayCounters {
  /** Packets towards the target (the page's uplink) and back (its downlink). */
  up: { sent: number; dropped: number };
  down: { sent: number; dropped: number };
  /** Packets the kernel dropped at the relay's sockets (receive buffer full: the relay fell behind), not the impairment. */
  overflow: number;
}

type RequestBody = { op: 'map'; host: string; port: number } | { op: 'counters' } | { op: 'close' };
type Request = RequestBody & { id: number };

/** The main thread's handle on the relay worker. */
export class ImpairRelay {
  readonly #worker: Worker;
  #next = 0;
  readonly #pending = new Map<number, (value: unknown) => void>();

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', ({ id, value }: { id: number; value: unknown }) => {
      this.#pending.get(id)?.(value);
      this.#pending.delete(id);
    });
  }

  static async start(impairment: Impairment): Promise<ImpairRelay> {
    const worker = new Worker(new URL(import.meta.url), { workerData: impairment });
    await new Promise((resolve, reject) => {
      worker.once('online', resolve);
      worker.once('error', reject);
    });
    return new ImpairRelay(worker);
  }

  #ask<T>(request: RequestBody): Promise<T> {
    const id = ++this.#next;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve as (v: unknown) => void);
      this.#worker.postMessage({ ...request, id });
    });
  }

  /** A relay port on 127.0.0.1 whose traffic goes (impaired) to host:port, and back. */
  map(host: string, port: number): Promise<number> {
    return this.#ask({ op: 'map', host, port });
  }

  counters(): Promise<RelayCounters> {
    return this.#ask({ op: 'counters' });
  }

  async close(): Promise<void> {
    await this.#ask({ op: 'close' });
    await this.#worker.terminate();
  }
}

// ---- the worker thread ----------------------------------------------------------------------------------------

/** Sends packets after the delay, in the order they came, dropping some. */
class Lane {
  readonly #queue: { at: number; send: () => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  readonly counters = { sent: 0, dropped: 0 };
  readonly impairment: Impairment;
  constructor(impairment: Impairment) {
    this.impairment = impairment;
  }

  push(send: () => void): void {
    const { delayMs, jitterMs, loss } = this.impairment;
    if (loss > 0 && Math.random() < loss) {
      this.counters.dropped++;
      return;
    }
    // Never before the packet ahead of it: jitter delays, it does not reorder.
    const at = Math.max(this.#last, performance.now() + delayMs + Math.random() * jitterMs);
    this.#last = at;
    this.#queue.push({ at, send });
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, this.#queue[0]!.at - performance.now()));
  }

  #flush(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#queue.length && this.#queue[0]!.at <= now + 0.5) {
      this.#queue.shift()!.send();
      this.counters.sent++;
    }
    this.#arm();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
  }
}

/** Datagrams the kernel dropped at these sockets (the last column of /proc/net/udp: a full receive buffer). */
function socketDrops(sockets: dgram.Socket[]): number {
  const ports = new Set<number>();
  for (const s of sockets) {
    try {
      ports.add(s.address().port);
    } catch {
      // not bound yet
    }
  }
  let drops = 0;
  for (const line of fs.readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const port = parseInt(cols[1]?.split(':')[1] ?? '', 16);
    if (ports.has(port)) drops += Number(cols.at(-1) ?? 0);
  }
  return drops;
}

/**
 * The relay stands for the network, so the machine's load (browsers, encoders, the server on the same cores)
 * must not add its own delay and jitter to the impairment: its thread asks for a higher priority (Linux sets
 * niceness per thread; allowed as root, otherwise the relay runs as it is and says so).
 */
const RELAY_THREAD_NICENESS = -10;

function runWorker(impairment: Impairment): void {
  try {
    os.setPriority(RELAY_THREAD_NICENESS);
  } catch (err) {
    process.stderr.write(`impair relay: normal priority (${(err as Error).message}); load on this machine adds to its delay\n`);
  }
  const up = new Lane(impairment);
  const down = new Lane(impairment);
  const sockets: dgram.Socket[] = [];
  const bind = (socket: dgram.Socket): Promise<number> =>
    new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket.address().port)));

  const map = async (host: string, port: number): Promise<number> => {
    const front = dgram.createSocket('udp4');
    sockets.push(front);
    const upstreams = new Map<string, dgram.Socket>();
    front.on('message', (msg, from) => {
      const key = `${from.address}:${from.port}`;
      let upstream = upstreams.get(key);
      if (!upstream) {
        const socket = dgram.createSocket('udp4');
        upstream = socket;
        upstreams.set(key, socket);
        sockets.push(socket);
        socket.bind(0, '127.0.0.1');
        socket.on('message', (reply) => down.push(() => front.send(reply, from.port, from.address)));
      }
      const socket = upstream;
      up.push(() => socket.send(msg, port, host));
    });
    return bind(front);
  };

  parentPort!.on('message', (request: Request) => {
    const reply = (value: unknown): void => parentPort!.postMessage({ id: request.id, value });
    if (request.op === 'map') void map(request.host, request.port).then(reply);
    else if (request.op === 'counters') reply({ up: { ...up.counters }, down: { ...down.counters }, overflow: socketDrops(sockets) });
    else {
      up.close();
      down.close();
      for (const s of sockets) s.close();
      reply(true);
    }
  });
}

if (!isMainThread && workerData && typeof (workerData as Impairment).delayMs === 'number') runWorker(workerData as Impairment);
