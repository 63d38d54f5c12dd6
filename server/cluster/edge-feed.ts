// The media of a class published on another node, fed into this node's room for it (an edge room): one mediasoup
// PipeTransport on the room's router, connected to one the origin node makes on the class's origin router, and
// one pipe producer per source (the origin's producer id, its pipe consumer's RTP parameters). The feed owns the
// transport and its producers: it follows the origin's source changes, and closes with the room. When the origin
// goes away (its claim expires, or the teacher publishes on another node) the owner closes the room, and the
// room's clients rebuild their media against the class's new origin. A source published in the edge room (a
// student on stage on this node) is handed up the same pipe (a pipe consumer here, adopted by the origin), and
// its changes told to the origin.
import { AwaitQueue } from 'awaitqueue';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import type { ClassroomRoom, MediaSource } from '../sfu/classroom-room.ts';
import type { ProducerAppData } from '../sfu/media-source.ts';
import type { PipeConsumeReply, PipeReply, RemoteSource, SourceChange } from './inter-node.ts';
import { remoteSource } from './origin-pipes.ts';

/** How the feed asks the origin node (over the cluster's channel). */
export interface OriginLink {
  pipe(classId: string, ip: string, port: number): Promise<PipeReply>;
  consume(classId: string, transportId: string, producerId: string): Promise<PipeConsumeReply>;
  unpipe(classId: string, transportId: string): void;
  /** Hands the origin a source published here, sent up the pipe with these RTP parameters. */
  adopt(classId: string, transportId: string, source: RemoteSource, rtpParameters: unknown): Promise<unknown>;
  /** A source handed up changed here. */
  tell(change: Omit<SourceChange, 'from'>): void;
}

export interface EdgeFeedOptions {
  room: ClassroomRoom;
  origin: OriginLink;
  /** The address (and ports) this node's pipe transports listen on, reachable from the other nodes. */
  pipeIp: string;
  portRange: { min: number; max: number };
  log: Logger;
}

export class EdgeFeed {
  readonly room: ClassroomRoom;
  readonly #origin: OriginLink;
  readonly #options: EdgeFeedOptions;
  readonly #log: Logger;
  /** Source changes apply one at a time, after the pipe is up. */
  readonly #queue = new AwaitQueue();
  readonly #producers = new Map<string, types.Producer>();
  /** Sources published here and handed up: producer id -> the pipe consumer carrying it to the origin. */
  readonly #handedUp = new Map<string, types.Consumer>();
  #transport: types.PipeTransport | undefined;
  #originTransportId: string | undefined;
  #closed = false;

  constructor(options: EdgeFeedOptions) {
    this.room = options.room;
    this.#origin = options.origin;
    this.#options = options;
    this.#log = options.log.child({ classId: options.room.classId, origin: options.room.fedFrom });
    this.room.once('close', () => this.close());
    this.room.on('sourceadd', (source) => {
      if (!this.#producers.has(source.producer.id))
        this.#queue.push(() => this.#handUp(source), 'handup').catch((err: unknown) => this.#failed(err));
    });
    this.room.on('sourceremove', (source) => {
      if (this.#handedUp.delete(source.producer.id)) this.#tell('remove', source);
    });
  }

  #failed(err: unknown): void {
    if (!this.#closed) this.#log.warn({ err }, 'could not hand a source published here up to the origin node');
  }

  #tell(change: SourceChange['change'], source: MediaSource): void {
    if (!this.#closed) this.#origin.tell({ classId: this.room.classId, change, source: remoteSource(source) });
  }

  async #handUp(source: MediaSource): Promise<void> {
    const transport = this.#transport;
    if (!transport || this.#closed || source.producer.closed) return;
    const consumer = await transport.consume({ producerId: source.producer.id });
    this.#handedUp.set(source.producer.id, consumer);
    await this.#origin.adopt(this.room.classId, this.#originTransportId!, remoteSource(source), consumer.rtpParameters);
    source.producer.observer.on('pause', () => this.#tell('pause', source));
    source.producer.observer.on('resume', () => this.#tell('resume', source));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connects the pipe with the origin and adopts every source it has now. */
  start(): Promise<void> {
    return this.#queue.push(async () => {
      const { room, pipeIp, portRange } = this.#options;
      const transport = await room.router.createPipeTransport({
        listenInfo: { protocol: 'udp', ip: pipeIp, portRange },
        enableRtx: true,
        appData: { edgeOf: room.fedFrom },
      });
      this.#transport = transport;
      if (this.#closed) return void transport.close();
      const reply = await this.#origin.pipe(room.classId, transport.tuple.localAddress, transport.tuple.localPort);
      this.#originTransportId = reply.transportId;
      if (this.#closed) return this.close();
      await transport.connect({ ip: reply.ip, port: reply.port });
      for (const source of reply.sources) await this.#adopt(source);
      this.#log.info({ sources: reply.sources.length, pipe: `${reply.ip}:${reply.port}` }, 'edge room fed from the origin node');
    }, 'start');
  }

  /** A source changed on the origin node. */
  follow(change: SourceChange): void {
    this.#queue
      .push(async () => {
        if (this.#closed || !this.#transport) return;
        const producer = this.#producers.get(change.source.producerId);
        if (change.change === 'add') await this.#adopt(change.source);
        else if (change.change === 'remove') producer?.close();
        else if (change.change === 'pause') await producer?.pause();
        else await producer?.resume();
      }, change.change)
      .catch((err: unknown) => this.#log.warn({ err, change: change.change }, 'could not follow a source change of the origin'));
  }

  async #adopt(source: RemoteSource): Promise<void> {
    const transport = this.#transport;
    if (!transport || this.#closed || this.#producers.has(source.producerId)) return;
    // Published here (handed up, and announced back by the origin): the room has it already.
    if (this.room.mediaSources().some((s) => s.producer.id === source.producerId)) return;
    const piped = await this.#origin.consume(this.room.classId, this.#originTransportId!, source.producerId);
    if (this.#closed) return;
    const appData: ProducerAppData = { source: source.source, userId: source.userId, displayName: source.displayName };
    const producer = await transport.produce({
      id: source.producerId,
      kind: piped.kind,
      rtpParameters: piped.rtpParameters as types.RtpParameters,
      paused: piped.paused,
      appData,
    });
    this.#producers.set(producer.id, producer);
    producer.observer.once('close', () => this.#producers.delete(producer.id));
    await this.room.adoptSource({ source: source.source, kind: source.kind, producer, userId: source.userId });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.stop();
    this.#transport?.close(); // its pipe producers with it
    if (this.#originTransportId) this.#origin.unpipe(this.room.classId, this.#originTransportId);
    this.#producers.clear();
    this.#handedUp.clear();
  }
}
