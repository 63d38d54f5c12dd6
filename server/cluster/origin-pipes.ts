// The origin side of cross-node media: for each class whose origin room is on this node, the pipes to the edge
// nodes (one PipeTransport on the origin router per edge room, made on the edge's request and connected to the
// edge's pipe) and the pipe consumers that send each source down them; and the source changes (published,
// closed, paused, resumed) told to the edges. A source published on an edge (a student on stage there) comes up
// the same pipe: the origin adopts it as a pipe producer, and the other edges get it from here like any source.
// The pipe transports are on the room's router: they close with it, and everything on them.
import type { types } from 'mediasoup';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { ClassroomRoom, MediaSource } from '../sfu/classroom-room.ts';
import type { ProducerAppData } from '../sfu/media-source.ts';
import type { RoomRegistry } from '../sfu/room-registry.ts';
import type { AdoptRequest, PipeConsumeReply, PipeReply, RemoteSource, SourceChange } from './inter-node.ts';

export function remoteSource(source: MediaSource): RemoteSource {
  return {
    producerId: source.producer.id,
    source: source.source,
    kind: source.kind,
    userId: source.userId,
    displayName: (source.producer.appData as ProducerAppData).displayName,
    paused: source.producer.paused,
  };
}

export interface OriginPipesOptions {
  rooms: RoomRegistry;
  pipeIp: string;
  portRange: { min: number; max: number };
  /** Tells the edges of a class what changed (every node hears it; edges of this class follow). */
  announce: (change: Omit<SourceChange, 'from'>) => void;
  log: Logger;
}

export class OriginPipes {
  readonly #options: OriginPipesOptions;
  readonly #log: Logger;
  /** Pipe transport id -> the transport, for the class it serves. */
  readonly #pipes = new Map<string, { classId: string; transport: types.PipeTransport }>();
  /** Producer id -> a source an edge handed up, and that edge. */
  readonly #adopted = new Map<string, { producer: types.Producer; from: string }>();
  readonly #off: () => void;

  constructor(options: OriginPipesOptions) {
    this.#options = options;
    this.#log = options.log;
    const opened = (room: ClassroomRoom): void => {
      if (!room.fedFrom) this.#watch(room);
    };
    options.rooms.on('roomopen', opened);
    this.#off = () => options.rooms.off('roomopen', opened);
  }

  #watch(room: ClassroomRoom): void {
    const tell = (change: SourceChange['change'], source: MediaSource): void =>
      this.#options.announce({ classId: room.classId, change, source: remoteSource(source) });
    room.on('sourceadd', (source) => {
      tell('add', source);
      source.producer.observer.on('pause', () => tell('pause', source));
      source.producer.observer.on('resume', () => tell('resume', source));
    });
    room.on('sourceremove', (source) => tell('remove', source));
  }

  #originRoom(classId: string): ClassroomRoom {
    const room = this.#options.rooms.get(classId);
    if (!room || room.closed || room.fedFrom) throw new DomainError('not_found', 'This node does not originate that class');
    return room;
  }

  /** An edge's pipe: a PipeTransport on the origin router, connected to the edge's; answers where it listens. */
  async pipe(classId: string, edgeIp: string, edgePort: number): Promise<PipeReply> {
    const room = this.#originRoom(classId);
    const { pipeIp, portRange } = this.#options;
    const transport = await room.router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: pipeIp, portRange }, enableRtx: true });
    await transport.connect({ ip: edgeIp, port: edgePort });
    this.#pipes.set(transport.id, { classId, transport });
    transport.observer.once('close', () => this.#pipes.delete(transport.id));
    this.#log.info({ classId, edge: `${edgeIp}:${edgePort}` }, 'class piped to an edge node');
    return {
      transportId: transport.id,
      ip: transport.tuple.localAddress,
      port: transport.tuple.localPort,
      sources: room.mediaSources().map(remoteSource),
    };
  }

  /** Sends one source down an edge's pipe (the pipe consumer closes with the source or the pipe). */
  async consume(classId: string, transportId: string, producerId: string): Promise<PipeConsumeReply> {
    const pipe = this.#pipes.get(transportId);
    if (!pipe || pipe.classId !== classId) throw new DomainError('not_found', 'No such pipe');
    const consumer = await pipe.transport.consume({ producerId });
    return { kind: consumer.kind, rtpParameters: consumer.rtpParameters, paused: consumer.producerPaused };
  }

  /** A source published on an edge, sent up its pipe: this node's room carries it as a pipe producer (same id). */
  async adopt({ classId, transportId, source, rtpParameters, from }: AdoptRequest): Promise<{ adopted: true }> {
    const room = this.#originRoom(classId);
    const pipe = this.#pipes.get(transportId);
    if (!pipe || pipe.classId !== classId) throw new DomainError('not_found', 'No such pipe');
    const appData: ProducerAppData = { source: source.source, userId: source.userId, displayName: source.displayName };
    const producer = await pipe.transport.produce({
      id: source.producerId,
      kind: source.kind,
      rtpParameters: rtpParameters as unknown as types.RtpParameters,
      paused: source.paused,
      appData,
    });
    this.#adopted.set(producer.id, { producer, from });
    producer.observer.once('close', () => this.#adopted.delete(producer.id));
    await room.adoptSource({ source: source.source, kind: source.kind, producer, userId: source.userId });
    this.#log.info({ classId, from, source: source.source, userId: source.userId }, 'a source published on an edge node came up');
    return { adopted: true };
  }

  /** A source an edge handed up changed there (closed, paused, resumed). */
  follow(change: SourceChange): void {
    const adopted = this.#adopted.get(change.source.producerId);
    if (!adopted || adopted.from !== change.from) return;
    const { producer } = adopted;
    if (change.change === 'remove') producer.close();
    else if (change.change === 'pause') void producer.pause().catch(() => {});
    else if (change.change === 'resume') void producer.resume().catch(() => {});
  }

  /** The edge room went away. */
  unpipe(classId: string, transportId: string): void {
    const pipe = this.#pipes.get(transportId);
    if (pipe?.classId === classId) pipe.transport.close();
  }

  close(): void {
    this.#off();
    for (const { transport } of this.#pipes.values()) transport.close();
    this.#pipes.clear();
    this.#adopted.clear();
  }
}
