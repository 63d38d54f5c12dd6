// One live class on the SFU: it owns the class's mediasoup Router (on the least-loaded worker) and every
// peer in it. Publishers' producers are the room's media sources; `sourceadd`/`sourceremove` tell other
// parts (the HLS bridge) what to consume, and `close` tells them the class's media is over.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import { SOURCE_KIND, type MediaKind, type MediaSourceName } from '../contracts/sfu.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { WorkerPool } from './worker-pool.ts';
import { ClassroomPeer, type ClassroomPeerInfo } from './classroom-peer.ts';
import { INITIAL_OUTGOING_BITRATE, MAX_INCOMING_BITRATE, ROUTER_MEDIA_CODECS } from './media-codecs.ts';
import type { MediaSource, ProducerAppData } from './media-source.ts';

export type { MediaSource } from './media-source.ts';

type ClassroomRoomEvents = {
  sourceadd: [MediaSource];
  sourceremove: [MediaSource];
  close: [];
};

export class ClassroomRoom extends EventEmitter<ClassroomRoomEvents> {
  readonly classId: string;
  readonly router: types.Router;
  readonly #webRtcServer: types.WebRtcServer;
  readonly #log: Logger;
  readonly #peers = new Map<string, ClassroomPeer>();
  readonly #sources = new Map<string, MediaSource>();
  #closed = false;

  static async create(classId: string, workers: WorkerPool, log: Logger): Promise<ClassroomRoom> {
    const { router, pooled } = await workers.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS, appData: { classId } });
    return new ClassroomRoom(classId, router, pooled.webRtcServer, log);
  }

  constructor(classId: string, router: types.Router, webRtcServer: types.WebRtcServer, log: Logger) {
    super();
    this.setMaxListeners(0);
    this.classId = classId;
    this.router = router;
    this.#webRtcServer = webRtcServer;
    this.#log = log.child({ classId });
    // The worker died (or someone closed the router): the room cannot carry media any more.
    router.observer.once('close', () => this.close());
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
    });
    return peer;
  }

  async createWebRtcTransport(peer: ClassroomPeer, direction: 'send' | 'recv'): Promise<types.WebRtcTransport> {
    this.#assertOpen();
    if (direction === 'send' && !peer.mayProduce) throw new DomainError('forbidden', 'Only the teacher or a student on stage may publish');
    const existing = [...peer.transports.values()].filter((t) => t.appData.direction === direction);
    // A client re-creating its transport (after a reload of its media) replaces the old one.
    for (const t of existing) t.close();
    const transport = await this.router.createWebRtcTransport({
      webRtcServer: this.#webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
      appData: { direction, peerId: peer.id },
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
      producer = await transport.produce({ kind, rtpParameters, appData });
    } catch (err) {
      throw new DomainError('invalid_input', `Cannot publish: ${(err as Error).message}`);
    }
    // The peer left (or its transport went) while the producer was being made: nothing would ever close it.
    if (peer.closed || transport.closed) {
      producer.close();
      throw new DomainError('gone', 'You left the class');
    }
    peer.addProducer(producer);
    const mediaSource: MediaSource = { source, kind, producer, userId: peer.userId };
    this.#sources.set(producer.id, mediaSource);
    producer.observer.once('close', () => {
      this.#sources.delete(producer.id);
      if (!this.#closed) this.emit('sourceremove', mediaSource);
    });
    this.#log.info({ userId: peer.userId, source, kind, producerId: producer.id }, 'source published');
    this.emit('sourceadd', mediaSource);
    return producer;
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
    if (!this.router.canConsume({ producerId, rtpCapabilities: peer.rtpCapabilities })) {
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
    this.router.close();
    this.#log.info('classroom room closed');
    this.emit('close');
  }

  #assertOpen(): void {
    if (this.#closed) throw new DomainError('not_live', 'The class is not live');
  }
}
