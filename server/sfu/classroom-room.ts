// One live class on the SFU: it owns the class's mediasoup Routers and every peer in it. The origin router
// (on the least-loaded worker when the class opens) carries everything published; students are seated on
// the origin while its worker has room, then on this class's routers on other workers, each fed once per
// source from the origin with pipeToRouter (ViewerRouter). A worker's room is its measured capacity
// (RoomCapacity.seatsPerWorker, every class on it counted); beyond every worker's, admit() says no and why. The
// class's own cap (RoomCapacity.classSeats) is counted class-wide: over every node of a cluster.
// Publishers' producers are the room's media sources; `sourceadd`/`sourceremove` tell other parts (the HLS
// bridge) what to consume, and `close` tells them the class's media is over. In a cluster, a room on a node
// other than the class's origin node is an edge (`fedFrom` names the origin node): its sources are pipe
// producers adopted from the origin (cluster/edge-feed.ts); what a student on stage publishes there is handed up
// to the origin, which adopts it the same way.
import { EventEmitter } from 'node:events';
import { AwaitQueue } from 'awaitqueue';
import type { types } from 'mediasoup';
import { SOURCE_KIND, type MediaKind, type MediaSourceName } from '../contracts/sfu.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { PooledWorker, WorkerPool } from './worker-pool.ts';
import { ClassroomPeer, type ClassroomPeerInfo } from './classroom-peer.ts';
import { INITIAL_OUTGOING_BITRATE, KEY_FRAME_REQUEST_INTERVAL_MS, MAX_INCOMING_BITRATE, ROUTER_MEDIA_CODECS } from './media-codecs.ts';
import type { MediaSource, ProducerAppData } from './media-source.ts';
import type { ClassSeat, ClassSeats } from './class-seats.ts';
import { ViewerRouter } from './viewer-router.ts';

export type { MediaSource } from './media-source.ts';

export interface RoomCapacity {
  /** Students one worker carries over WebRTC (LECTERN_CONSUMERS_PER_WORKER / consumers per student). */
  seatsPerWorker: number;
  /** Each class's WebRTC students against its cap whatever the workers carry (LECTERN_MAX_WEBRTC_VIEWERS), class-wide. */
  classSeats: ClassSeats;
}

export type Admission = { admitted: true } | { admitted: false; reason: string };

type ClassroomRoomEvents = {
  sourceadd: [MediaSource];
  sourceremove: [MediaSource];
  close: [];
};

export class ClassroomRoom extends EventEmitter<ClassroomRoomEvents> {
  readonly classId: string;
  /** The node this room's media comes from, when it is an edge of a class published on another node. */
  readonly fedFrom: string | undefined;
  readonly #workers: WorkerPool;
  readonly #capacity: RoomCapacity;
  readonly #origin: ViewerRouter;
  /** The origin first, then the routers fed from it. */
  readonly #routers: ViewerRouter[];
  readonly #log: Logger;
  readonly #peers = new Map<string, ClassroomPeer>();
  /** Where each peer receives, and the class seat it holds when it is a student's seat there; the origin when absent. */
  readonly #placement = new Map<ClassroomPeer, { on: ViewerRouter; seat?: ClassSeat }>();
  readonly #sources = new Map<string, MediaSource>();
  /** Seating runs one at a time, so two students cannot both take a worker's last seat or open two routers there. */
  readonly #seating = new AwaitQueue();
  #closed = false;

  static async create(classId: string, workers: WorkerPool, log: Logger, capacity: RoomCapacity, fedFrom?: string): Promise<ClassroomRoom> {
    const { router, pooled } = await workers.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { classId } });
    return new ClassroomRoom(classId, new ViewerRouter(router, pooled, null), workers, capacity, log, fedFrom);
  }

  constructor(classId: string, origin: ViewerRouter, workers: WorkerPool, capacity: RoomCapacity, log: Logger, fedFrom?: string) {
    super();
    this.setMaxListeners(0);
    this.classId = classId;
    this.fedFrom = fedFrom;
    this.#origin = origin;
    this.#routers = [origin];
    this.#workers = workers;
    this.#capacity = capacity;
    this.#log = log.child({ classId });
    // The worker died (or someone closed the router): the room cannot carry media any more.
    origin.router.observer.once('close', () => this.close());
  }

  /** The origin router: where the class's media is published. */
  get router(): types.Router {
    return this.#origin.router;
  }

  /** The workers this class's routers are on, with the students seated on each (the origin's first). */
  routerLoad(): { workerIndex: number; routerId: string; seats: number }[] {
    return this.#routers.map((r) => ({ workerIndex: r.pooled.index, routerId: r.router.id, seats: r.seats }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  peers(): ClassroomPeer[] {
    return [...this.#peers.values()];
  }

  peer(peerId: string): ClassroomPeer | undefined {
    return this.#peers.get(peerId);
  }

  /** Students currently receiving over WebRTC (the viewer cap counts these). */
  webRtcViewerCount(): number {
    let n = 0;
    for (const p of this.#peers.values()) if (p.role === 'student' && p.rtpCapabilities) n++;
    return n;
  }

  mediaSources(): MediaSource[] {
    return [...this.#sources.values()];
  }

  addPeer(info: ClassroomPeerInfo): ClassroomPeer {
    this.#assertOpen();
    this.#peers.get(info.id)?.close();
    const peer = new ClassroomPeer(info);
    this.#peers.set(peer.id, peer);
    peer.once('close', () => {
      if (this.#peers.get(peer.id) === peer) this.#peers.delete(peer.id);
      const placed = this.#placement.get(peer);
      this.#placement.delete(peer);
      if (!placed?.seat) return;
      placed.on.release();
      placed.seat.release();
    });
    return peer;
  }

  /** Whether a new student would get a WebRTC seat now (admit() decides for real). */
  async hasSeat(): Promise<Admission> {
    const capped = await this.#classCapReached();
    if (capped) return capped;
    return this.#workers.all().some((w) => this.#hasRoom(w)) ? { admitted: true } : this.#machineFull();
  }

  /**
   * Seats `peer` for receiving: students on a router of this class whose worker has room (a new router, fed
   * from the origin, on the least-loaded worker with room when none has), everyone else on the origin.
   * Not admitted: every worker is full, or the class's own cap is reached (over the whole cluster); the reason
   * says which.
   */
  admit(peer: ClassroomPeer): Promise<Admission> {
    return this.#seating.push(() => this.#seat(peer), 'admit');
  }

  async #seat(peer: ClassroomPeer): Promise<Admission> {
    this.#assertOpen();
    if (peer.closed) throw new DomainError('gone', 'You left the class');
    if (this.#placement.has(peer)) return { admitted: true };
    // The teacher, admins and students on stage always receive, on the origin, without taking a seat.
    if (peer.role !== 'student' || peer.mayProduce) {
      this.#placement.set(peer, { on: this.#origin });
      return { admitted: true };
    }
    let target = this.#routers.find((r) => !r.router.closed && this.#hasRoom(r.pooled));
    const free = target
      ? undefined
      : this.#workers
          .all()
          .filter((w) => this.#hasRoom(w) && !this.#routers.some((r) => r.pooled === w))
          .sort((a, b) => a.seats - b.seats)[0];
    // A full machine is known here; the class's seats are asked of the store only when this machine has room.
    if (!target && !free) return (await this.#classCapReached()) ?? this.#machineFull();
    const seat = await this.#capacity.classSeats.take(this.classId);
    if (!seat) return this.#classCapped();
    try {
      target ??= await this.#addRouter(free!);
      if (peer.closed || this.#closed) throw new DomainError('gone', 'You left the class');
    } catch (err) {
      seat.release();
      throw err;
    }
    target.take();
    this.#placement.set(peer, { on: target, seat });
    return { admitted: true };
  }

  /**
   * The router the HLS bridge consumes from: this class's router on the worker with the fewest students (a
   * new one fed from the origin when the class has none there), every current source piped in.
   */
  async bridgeRouter(): Promise<types.Router> {
    this.#assertOpen();
    const fewest = Math.min(...this.#workers.all().map((w) => w.seats));
    const own = this.#routers.find((r) => !r.router.closed && r.pooled.seats === fewest);
    const target = own ?? (await this.#addRouter(this.#workers.leastLoaded()));
    await Promise.all(this.mediaSources().map((s) => this.#feed(target, s.producer.id)));
    return target.router;
  }

  /**
   * A router of `peer`'s own, on the worker of its seat (admit() first), fed source by source (`pipe`) from the
   * seat's router: for a client whose offer fixes the payload types (WHEP), which consumers cannot change. The
   * caller owns it and closes it; its source router closing closes its pipes, and the room closing closes `peer`.
   */
  async ownRouter(peer: ClassroomPeer, mediaCodecs: types.RouterRtpCodecCapability[]): Promise<ViewerRouter> {
    this.#assertOpen();
    const seat = this.#placement.get(peer)?.on ?? this.#origin;
    const { router, pooled } = await this.#workers.createRouter(
      { mediaCodecs, appData: { classId: this.classId, peerId: peer.id } },
      seat.pooled,
    );
    if (this.#closed || peer.closed) {
      router.close();
      throw new DomainError('gone', 'The viewer left');
    }
    // Fed from the seat's router (the origin, or the class's router on that worker): no more load on the origin.
    return new ViewerRouter(router, pooled, seat.router, { keepIds: false, upstream: (producerId) => this.#feed(seat, producerId) });
  }

  #hasRoom(worker: PooledWorker): boolean {
    return !worker.worker.closed && worker.seats < this.#capacity.seatsPerWorker;
  }

  async #classCapReached(): Promise<Admission | undefined> {
    const { cap } = this.#capacity.classSeats;
    if (cap === undefined || (await this.#capacity.classSeats.taken(this.classId)) < cap) return undefined;
    return this.#classCapped();
  }

  /** The class's own seats are taken, on whichever servers (nodes) its students are. */
  #classCapped(): Admission {
    const { cap } = this.#capacity.classSeats;
    const seats = cap === 0 ? 'This class has no real-time seats' : `This class's ${cap} real-time seats are taken`;
    return { admitted: false, reason: `${seats}: you watch the broadcast stream, a few seconds behind` };
  }

  #machineFull(): Admission {
    const workers = this.#workers.all().length;
    return {
      admitted: false,
      reason:
        `This server's real-time capacity is taken (${workers * this.#capacity.seatsPerWorker} students over ${workers} media ` +
        `worker${workers === 1 ? '' : 's'}): you watch the broadcast stream, a few seconds behind`,
    };
  }

  /** A router of this class on `worker`, fed from the origin with every current source. */
  async #addRouter(worker: PooledWorker): Promise<ViewerRouter> {
    const existing = this.#routers.find((r) => r.pooled === worker && !r.router.closed);
    if (existing) return existing;
    const { router, pooled } = await this.#workers.createRouter(
      { mediaCodecs: ROUTER_MEDIA_CODECS, appData: { classId: this.classId } },
      worker,
    );
    if (this.#closed) {
      router.close();
      throw new DomainError('not_live', 'The class is not live');
    }
    const viewers = new ViewerRouter(router, pooled, this.#origin.router);
    this.#routers.push(viewers);
    // Its worker died: its students' media is gone; the class rebuilds (clients rejoin) as when the origin dies.
    router.observer.once('close', () => this.close());
    this.#log.info({ routerId: router.id, worker: pooled.index }, 'class spread to another worker (pipeToRouter)');
    await Promise.all(this.mediaSources().map((s) => viewers.feed(s.producer.id)));
    return viewers;
  }

  #feed(target: ViewerRouter, producerId: string): Promise<void> {
    return target === this.#origin ? Promise.resolve() : target.feed(producerId);
  }

  async createWebRtcTransport(peer: ClassroomPeer, direction: 'send' | 'recv'): Promise<types.WebRtcTransport> {
    this.#assertOpen();
    if (direction === 'send' && !peer.mayProduce) throw new DomainError('forbidden', 'Only the teacher or a student on stage may publish');
    const existing = [...peer.transports.values()].filter((t) => t.appData.direction === direction);
    // A client re-creating its transport (after a reload of its media) replaces the old one.
    for (const t of existing) t.close();
    // Publishing goes to the origin; receiving to the peer's seat.
    const on = direction === 'send' ? this.#origin : (this.#placement.get(peer)?.on ?? this.#origin);
    const transport = await on.router.createWebRtcTransport({
      webRtcServer: on.pooled.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
      appData: { direction, peerId: peer.id, routerId: on.router.id },
    });
    if (direction === 'send') await transport.setMaxIncomingBitrate(MAX_INCOMING_BITRATE).catch(() => {});
    // Checked after the last await: a peer that closed meanwhile would hold a transport nobody ever closes.
    if (peer.closed) {
      transport.close();
      throw new DomainError('gone', 'You left the class');
    }
    peer.addTransport(transport);
    return transport;
  }

  async produce(
    peer: ClassroomPeer,
    transportId: string,
    kind: MediaKind,
    rtpParameters: types.RtpParameters,
    source: MediaSourceName,
  ): Promise<types.Producer> {
    this.#assertOpen();
    if (!peer.mayProduce) throw new DomainError('forbidden', 'Only the teacher or a student on stage may publish');
    if (SOURCE_KIND[source] !== kind)
      throw new DomainError('invalid_input', `A ${source} source carries ${SOURCE_KIND[source]}, not ${kind}`);
    if (peer.role === 'student' && (source === 'screen' || source === 'screen-audio')) {
      throw new DomainError('forbidden', 'Students on stage share camera and microphone only');
    }
    const transport = peer.transports.get(transportId);
    if (!transport || transport.appData.direction !== 'send') throw new DomainError('not_found', 'No such send transport');
    // One producer per source: publishing the camera again (a new device) replaces the old one.
    for (const p of peer.producers.values()) if ((p.appData as ProducerAppData).source === source) p.close();
    const appData: ProducerAppData = { source, userId: peer.userId, displayName: peer.displayName };
    let producer: types.Producer;
    try {
      producer = await transport.produce({
        kind,
        rtpParameters,
        appData,
        ...(kind === 'video' ? { keyFrameRequestDelay: KEY_FRAME_REQUEST_INTERVAL_MS } : {}),
      });
    } catch (err) {
      throw new DomainError('invalid_input', `Cannot publish: ${(err as Error).message}`);
    }
    // The peer left (or its transport went) while the producer was being made: nothing would ever close it.
    if (peer.closed || transport.closed) {
      producer.close();
      throw new DomainError('gone', 'You left the class');
    }
    peer.addProducer(producer);
    this.#log.info({ userId: peer.userId, source, kind, producerId: producer.id }, 'source published');
    await this.#addSource({ source, kind, producer, userId: peer.userId });
    return producer;
  }

  /**
   * A source published on another node of the cluster, carried here by a pipe producer (its owner, the edge feed
   * or the origin's pipes, closes it when the source ends there). Told to the room's peers like a source published here.
   */
  adoptSource(source: MediaSource): Promise<void> {
    this.#assertOpen();
    return this.#addSource(source);
  }

  async #addSource(mediaSource: MediaSource): Promise<void> {
    const { producer } = mediaSource;
    this.#sources.set(producer.id, mediaSource);
    producer.observer.once('close', () => {
      this.#sources.delete(producer.id);
      if (!this.#closed) this.emit('sourceremove', mediaSource);
    });
    // Every router of the class gets the source before anyone is told of it.
    await Promise.all(
      this.#routers.map((r) =>
        this.#feed(r, producer.id).catch((err: unknown) => this.#log.warn({ err, routerId: r.router.id }, 'source not piped')),
      ),
    );
    if (producer.closed || this.#closed) return;
    this.emit('sourceadd', mediaSource);
  }

  /** A consumer for `peer`, created paused (the client resumes it once its track is wired). */
  async consume(peer: ClassroomPeer, producerId: string): Promise<types.Consumer> {
    this.#assertOpen();
    if (!peer.rtpCapabilities) throw new DomainError('not_joined', 'Join the media session (sfu:join) first');
    const source = this.#sources.get(producerId);
    if (!source) throw new DomainError('not_found', 'No such source');
    if (source.userId === peer.userId && peer.producers.has(producerId))
      throw new DomainError('invalid_input', 'You cannot consume your own source');
    const transport = [...peer.transports.values()].find((t) => t.appData.direction === 'recv');
    if (!transport) throw new DomainError('not_found', 'Create a receive transport first');
    const on = this.#routers.find((r) => r.router.id === transport.appData.routerId) ?? this.#origin;
    await this.#feed(on, producerId);
    if (!on.router.canConsume({ producerId, rtpCapabilities: peer.rtpCapabilities })) {
      throw new DomainError('unsupported', 'Your browser cannot decode this source');
    }
    for (const c of peer.consumers.values()) if (c.producerId === producerId) c.close();
    const consumer = await transport.consume({
      producerId,
      rtpCapabilities: peer.rtpCapabilities,
      paused: true,
      // Start low and let the client's preferred layers (its shown size) and the bandwidth estimate lift it.
      ...(source.kind === 'video' && source.producer.type === 'simulcast'
        ? { preferredLayers: { spatialLayer: 0, temporalLayer: 2 } }
        : {}),
      appData: { source: source.source, userId: source.userId },
    });
    if (peer.closed) {
      consumer.close();
      throw new DomainError('gone', 'You left the class');
    }
    peer.addConsumer(consumer);
    return consumer;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of [...this.#peers.values()]) peer.close();
    this.#peers.clear();
    this.#sources.clear();
    this.#seating.stop();
    for (const r of this.#routers.slice(1)) r.router.close();
    this.#origin.router.close();
    this.#log.info('classroom room closed');
    this.emit('close');
  }

  #assertOpen(): void {
    if (this.#closed) throw new DomainError('not_live', 'The class is not live');
  }
}
