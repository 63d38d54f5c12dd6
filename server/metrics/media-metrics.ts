// The media side of /metrics: each mediasoup worker (CPU, routers, transports, producers, consumers) and each
// live class (viewers by mode, bitrate in and out, loss, RTT, its HLS bridge). Collected on a timer every few
// seconds, never per scrape: a scrape reads the last values. A class's series exist only while its room is
// open and are removed when it closes, so the label set stays as small as the classes live right now.
import type { types } from 'mediasoup';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PresenceViewer } from '../contracts/live-class.ts';
import type { HlsBridge } from '../hls/hls-bridge.ts';
import type { Logger } from '../log.ts';
import type { ClassMediaSummary } from '../sfu/connection-quality.ts';
import type { ClassroomRoom } from '../sfu/classroom-room.ts';
import type { RoomRegistry } from '../sfu/room-registry.ts';
import type { PooledWorker, WorkerPool } from '../sfu/worker-pool.ts';

export const MEDIA_METRICS_INTERVAL_MS = 5000;

export interface MediaMetricsOptions {
  registry: Registry;
  workers: Pick<WorkerPool, 'all' | 'on' | 'off'>;
  rooms: Pick<RoomRegistry, 'on' | 'off'>;
  /** Who is in a class and how they watch (the lifecycle's presence). */
  viewers: (classId: string) => PresenceViewer[] | undefined;
  /** The class's HLS bridge in this process, if any. */
  bridge: (classId: string) => HlsBridge | undefined;
  log: Logger;
  intervalMs?: number;
}

/** Live transports, producers and consumers of one worker, kept by mediasoup's observer events. */
interface WorkerCounts {
  transports: number;
  producers: number;
  consumers: number;
  /** CPU seconds already added to the counter (the worker's own total at the last round). */
  cpuSeconds: number;
}

const VIEWER_MODES = ['webrtc', 'hls', 'waiting'] as const;

export class MediaMetrics {
  readonly #o: MediaMetricsOptions;
  readonly #timer: NodeJS.Timeout;
  readonly #workerCounts = new WeakMap<types.Worker, WorkerCounts>();
  readonly #rooms = new Set<ClassroomRoom>();
  /** HLS figures already counted per class (the bridge's own totals at the last round). */
  readonly #hlsSeen = new Map<string, { restarts: number; segments: number }>();
  /** The last figures per live class, for the admin view. */
  readonly #last = new Map<string, { ingressBitsPerSecond?: number; delivery?: ClassMediaSummary }>();
  readonly #offs: (() => void)[] = [];
  #running = false;
  #closed = false;

  readonly #workerCpu: Counter<'worker'>;
  readonly #workerObjects: Gauge<'worker' | 'kind'>;
  readonly #liveClasses: Gauge;
  readonly #viewers: Gauge<'class_id' | 'mode'>;
  readonly #ingress: Gauge<'class_id'>;
  readonly #egress: Gauge<'class_id'>;
  readonly #loss: Gauge<'class_id'>;
  readonly #rtt: Gauge<'class_id'>;
  readonly #hlsUp: Gauge<'class_id'>;
  readonly #hlsSpeed: Gauge<'class_id'>;
  readonly #hlsRestarts: Counter<'class_id'>;
  readonly #hlsSegments: Counter<'class_id'>;

  constructor(options: MediaMetricsOptions) {
    this.#o = options;
    const registers = [options.registry];
    this.#workerCpu = new Counter({
      name: 'lectern_worker_cpu_seconds_total',
      help: 'CPU time (user + system) used by the mediasoup worker',
      labelNames: ['worker'],
      registers,
    });
    this.#workerObjects = new Gauge({
      name: 'lectern_worker_objects',
      help: 'Routers, transports, producers and consumers open on the mediasoup worker',
      labelNames: ['worker', 'kind'],
      registers,
    });
    this.#liveClasses = new Gauge({ name: 'lectern_live_classes', help: 'Classes with an open SFU room in this process', registers });
    this.#viewers = new Gauge({
      name: 'lectern_class_viewers',
      help: 'Students in a live class by how they watch (webrtc, hls, waiting)',
      labelNames: ['class_id', 'mode'],
      registers,
    });
    this.#ingress = new Gauge({
      name: 'lectern_class_ingress_bits_per_second',
      help: "What the class's publishers send the SFU",
      labelNames: ['class_id'],
      registers,
    });
    this.#egress = new Gauge({
      name: 'lectern_class_egress_bits_per_second',
      help: "What the SFU sends the class's WebRTC students",
      labelNames: ['class_id'],
      registers,
    });
    this.#loss = new Gauge({
      name: 'lectern_class_packet_loss_ratio',
      help: "Mean fraction of packets lost towards the class's WebRTC students",
      labelNames: ['class_id'],
      registers,
    });
    this.#rtt = new Gauge({
      name: 'lectern_class_rtt_seconds',
      help: "Mean round-trip time to the class's WebRTC students",
      labelNames: ['class_id'],
      registers,
    });
    this.#hlsUp = new Gauge({
      name: 'lectern_hls_bridge_up',
      help: "1 while the class's HLS bridge has ffmpeg running, else 0",
      labelNames: ['class_id'],
      registers,
    });
    this.#hlsSpeed = new Gauge({
      name: 'lectern_hls_ffmpeg_speed_ratio',
      help: "The HLS encoder's speed as a multiple of real time (below 1 it falls behind)",
      labelNames: ['class_id'],
      registers,
    });
    this.#hlsRestarts = new Counter({
      name: 'lectern_hls_bridge_restarts_total',
      help: "Times the class's HLS ffmpeg died and was restarted",
      labelNames: ['class_id'],
      registers,
    });
    this.#hlsSegments = new Counter({
      name: 'lectern_hls_segments_written_total',
      help: "HLS segments written for the class's top rendition",
      labelNames: ['class_id'],
      registers,
    });

    for (const pooled of options.workers.all()) this.#watchWorker(pooled);
    const replaced = (pooled: PooledWorker): void => this.#watchWorker(pooled);
    const open = (room: ClassroomRoom): void => {
      this.#rooms.add(room);
      this.#liveClasses.set(this.#rooms.size);
    };
    const close = (room: ClassroomRoom): void => {
      this.#rooms.delete(room);
      this.#liveClasses.set(this.#rooms.size);
      this.#forget(room.classId);
    };
    options.workers.on('workerreplaced', replaced);
    options.rooms.on('roomopen', open);
    options.rooms.on('roomclose', close);
    this.#offs.push(
      () => options.workers.off('workerreplaced', replaced),
      () => options.rooms.off('roomopen', open),
      () => options.rooms.off('roomclose', close),
    );
    this.#liveClasses.set(0);
    this.#timer = setInterval(() => void this.#tick(), options.intervalMs ?? MEDIA_METRICS_INTERVAL_MS);
    this.#timer.unref();
  }

  /** A live class's delivery figures from the connection-quality round (ConnectionQuality's `summarise`). */
  observeDelivery(summary: ClassMediaSummary): void {
    if (this.#closed || ![...this.#rooms].some((r) => r.classId === summary.classId && !r.closed)) return;
    const labels = { class_id: summary.classId };
    this.#last.set(summary.classId, { ...this.#last.get(summary.classId), delivery: summary });
    this.#egress.set(labels, summary.egressBitsPerSecond);
    if (summary.lossRatio === null) this.#loss.remove(labels);
    else this.#loss.set(labels, summary.lossRatio);
    if (summary.rttSeconds === null) this.#rtt.remove(labels);
    else this.#rtt.set(labels, summary.rttSeconds);
  }

  /** One round now (the timer does the same). */
  async collect(): Promise<void> {
    const workers = this.#o.workers.all();
    await Promise.all(workers.map((w) => this.#collectWorker(w)));
    for (const room of [...this.#rooms]) {
      if (room.closed) continue;
      await this.#collectClass(room).catch((err: unknown) => this.#o.log.warn({ err, classId: room.classId }, 'class metrics failed'));
    }
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#closed) return; // a slow round is never overtaken by the next
    this.#running = true;
    try {
      await this.collect();
    } finally {
      this.#running = false;
    }
  }

  #watchWorker(pooled: PooledWorker): void {
    const { worker } = pooled;
    if (this.#workerCounts.has(worker)) return;
    const counts: WorkerCounts = { transports: 0, producers: 0, consumers: 0, cpuSeconds: 0 };
    this.#workerCounts.set(worker, counts);
    const track = (key: 'transports' | 'producers' | 'consumers', closed: (done: () => void) => void): void => {
      counts[key]++;
      closed(() => counts[key]--);
    };
    worker.observer.on('newrouter', (router) =>
      router.observer.on('newtransport', (transport) => {
        track('transports', (done) => transport.observer.once('close', done));
        transport.observer.on('newproducer', (p) => track('producers', (done) => p.observer.once('close', done)));
        transport.observer.on('newconsumer', (c) => track('consumers', (done) => c.observer.once('close', done)));
      }),
    );
  }

  async #collectWorker(pooled: PooledWorker): Promise<void> {
    const counts = this.#workerCounts.get(pooled.worker);
    if (!counts || pooled.worker.closed) return;
    const worker = String(pooled.index);
    const usage = await pooled.worker.getResourceUsage().catch(() => undefined);
    if (usage) {
      const cpu = (usage.ru_utime + usage.ru_stime) / 1000;
      this.#workerCpu.inc({ worker }, Math.max(0, cpu - counts.cpuSeconds));
      counts.cpuSeconds = cpu;
    }
    this.#workerObjects.set({ worker, kind: 'router' }, pooled.routers);
    this.#workerObjects.set({ worker, kind: 'transport' }, counts.transports);
    this.#workerObjects.set({ worker, kind: 'producer' }, counts.producers);
    this.#workerObjects.set({ worker, kind: 'consumer' }, counts.consumers);
  }

  async #collectClass(room: ClassroomRoom): Promise<void> {
    const classId = room.classId;
    const viewers = (this.#o.viewers(classId) ?? []).filter((v) => v.role === 'student');
    let ingress = 0;
    for (const { producer } of room.mediaSources()) {
      if (producer.closed) continue;
      for (const s of await producer.getStats().catch(() => [])) ingress += s.bitrate;
    }
    const bridge = this.#o.bridge(classId);
    const hls =
      bridge && !bridge.closed
        ? { speed: bridge.ffmpegSpeed, restarts: bridge.restarts, segments: await bridge.segmentsWritten() }
        : undefined;
    if (room.closed || this.#closed) return; // closed while we asked: its series are gone and stay gone

    const labels = { class_id: classId };
    for (const mode of VIEWER_MODES) this.#viewers.set({ ...labels, mode }, viewers.filter((v) => v.mode === mode).length);
    this.#ingress.set(labels, ingress);
    this.#last.set(classId, { ...this.#last.get(classId), ingressBitsPerSecond: ingress });
    if (!hls) return;
    this.#hlsUp.set(labels, hls.speed === null ? 0 : 1);
    if (hls.speed === null) this.#hlsSpeed.remove(labels);
    else this.#hlsSpeed.set(labels, hls.speed);
    const seen = this.#hlsSeen.get(classId) ?? { restarts: 0, segments: 0 };
    this.#hlsRestarts.inc(labels, Math.max(0, hls.restarts - seen.restarts));
    this.#hlsSegments.inc(labels, Math.max(0, hls.segments - seen.segments));
    this.#hlsSeen.set(classId, { restarts: hls.restarts, segments: hls.segments });
  }

  #forget(classId: string): void {
    const labels = { class_id: classId };
    for (const mode of VIEWER_MODES) this.#viewers.remove({ ...labels, mode });
    for (const metric of [this.#ingress, this.#egress, this.#loss, this.#rtt, this.#hlsUp, this.#hlsSpeed]) metric.remove(labels);
    for (const metric of [this.#hlsRestarts, this.#hlsSegments]) metric.remove(labels);
    this.#hlsSeen.delete(classId);
    this.#last.delete(classId);
  }

  /** A live class's last collected figures (undefined before the first round). */
  lastFigures(classId: string): { ingressBitsPerSecond?: number; delivery?: ClassMediaSummary } | undefined {
    return this.#last.get(classId);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#offs) off();
    for (const room of this.#rooms) this.#forget(room.classId);
    this.#rooms.clear();
  }
}
