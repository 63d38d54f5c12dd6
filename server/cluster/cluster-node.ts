// This process as one node of a cluster (several Lectern processes sharing PostgreSQL and Redis). A live
// class's media originates on one node (where its teacher publishes; ClassOrigins records it in Redis); a
// student whose socket lands on another node gets an edge room there, fed from the origin over a mediasoup
// pipe (EdgeFeed <-> OriginPipes). The nodes talk over the Socket.io Redis adapter (serverSideEmit): pipe
// requests, source changes, origin moves, and each class's status, so every node's live class agrees (a class
// ended on one node is ended on all of them).
import type { ClassStatusPush, StageUpdatePush } from '../contracts/live-class.ts';
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { ClassroomRoom } from '../sfu/classroom-room.ts';
import type { RoomRegistry } from '../sfu/room-registry.ts';
import type { LecternIo } from '../realtime/socket-server.ts';
import type { ClassOrigins } from './class-origins.ts';
import { EdgeFeed, type OriginLink } from './edge-feed.ts';
import {
  AdoptRequest,
  SharedStage,
  OriginMoved,
  PipeClose,
  PipeConsumeRequest,
  PipeRequest,
  SharedStatus,
  SourceChange,
  type InterNodeEvents,
  type PipeConsumeReply,
  type PipeReply,
} from './inter-node.ts';
import { OriginPipes } from './origin-pipes.ts';

/** How often an edge checks that its origin still holds the class (a dead origin's claim expires). */
const ORIGIN_CHECK_MS = 1000;

/** No node answered as the origin: it is not part of the cluster any more. */
class OriginGone extends DomainError {
  constructor(node: string) {
    super('unavailable', `The class's media server (${node}) is gone`);
  }
}

export interface ClusterNodeOptions {
  io: LecternIo;
  nodeName: string;
  pipeIp: string;
  portRange: { min: number; max: number };
  rooms: RoomRegistry;
  /** Where each class originates (its owner closes it after this node). */
  origins: ClassOrigins;
  log: Logger;
}

export class ClusterNode {
  readonly nodeName: string;
  readonly #io: LecternIo;
  readonly #origins: ClassOrigins;
  readonly #pipes: OriginPipes;
  readonly #rooms: RoomRegistry;
  readonly #options: ClusterNodeOptions;
  readonly #log: Logger;
  /** Class id -> the feed of this node's edge room for it. */
  readonly #feeds = new Map<string, EdgeFeed>();
  readonly #offs: (() => void)[] = [];
  readonly #timer: NodeJS.Timeout;
  #checking = false;
  #closed = false;

  constructor(options: ClusterNodeOptions) {
    this.#options = options;
    this.nodeName = options.nodeName;
    this.#io = options.io;
    this.#origins = options.origins;
    this.#rooms = options.rooms;
    this.#log = options.log.child({ node: options.nodeName });
    this.#pipes = new OriginPipes({
      rooms: options.rooms,
      pipeIp: options.pipeIp,
      portRange: options.portRange,
      announce: (change) => this.#tell('cluster:source', { ...change, from: this.nodeName }),
      log: this.#log,
    });
    this.#listen();
    const closed = (room: ClassroomRoom): void => {
      if (!room.fedFrom) void this.#origins.release(room.classId).catch(() => {});
    };
    this.#rooms.on('roomclose', closed);
    this.#offs.push(() => this.#rooms.off('roomclose', closed));
    // Another node took the class over while this node still had its origin room: the room goes (its clients rebuild).
    const lost = (classId: string): void => this.#dropRoom(classId, 'the class originates on another node now');
    this.#origins.on('lost', lost);
    this.#offs.push(() => this.#origins.off('lost', lost));
    this.#timer = setInterval(() => void this.#checkOrigins(), ORIGIN_CHECK_MS);
    this.#timer.unref();
    this.#log.info({ pipeIp: options.pipeIp }, 'cluster node: class media crosses nodes over mediasoup pipes');
  }

  /**
   * Where a class's media originates: undefined when here (claimed for this node: nobody held it, or the
   * teacher publishes here and takes it over), else the origin node's name.
   */
  async originFor(classId: string, publish: boolean): Promise<string | undefined> {
    const holder = await this.#origins.claim(classId, publish);
    if (holder !== this.nodeName) return holder;
    if (publish) this.#tell('cluster:origin', { classId, nodeId: this.nodeName });
    return undefined;
  }

  /** Feeds an edge room from its origin node; throws (and the caller closes the room) when the origin does not answer. */
  async feed(room: ClassroomRoom): Promise<void> {
    const feed = new EdgeFeed({
      room,
      origin: this.#link(room.fedFrom!),
      pipeIp: this.#options.pipeIp,
      portRange: this.#options.portRange,
      log: this.#log,
    });
    this.#feeds.get(room.classId)?.close();
    this.#feeds.set(room.classId, feed);
    room.once('close', () => {
      if (this.#feeds.get(room.classId) === feed) this.#feeds.delete(room.classId);
    });
    try {
      await feed.start();
    } catch (err) {
      // Every node answered, none as the origin: it died before its claim expired. The claim goes now, so the
      // caller's next try claims the class (or finds the node the teacher publishes on now).
      if (err instanceof OriginGone) await this.#origins.forget(room.classId, room.fedFrom!);
      throw err;
    }
  }

  /** Every node's live class hears this node's status and stage changes (and this node's hears theirs). */
  shareStatusWith(liveClasses: LiveClassLifecycle): void {
    const share = (push: ClassStatusPush): void => this.#tell('cluster:status', { from: this.nodeName, push });
    liveClasses.on('status', share);
    const shareStage = (push: StageUpdatePush): void => this.#tell('cluster:stage', { from: this.nodeName, push });
    liveClasses.on('stage', shareStage);
    const applyStage = (message: unknown): void => {
      const parsed = SharedStage.safeParse(message);
      if (!parsed.success || parsed.data.from === this.nodeName) return;
      liveClasses
        .applySharedStage(parsed.data.push)
        .catch((err: unknown) =>
          this.#log.warn({ err, classId: parsed.data.push.classId }, 'could not apply the stage another node shared'),
        );
    };
    this.#io.on('cluster:stage', applyStage);
    this.#offs.push(
      () => liveClasses.off('stage', shareStage),
      () => void this.#io.off('cluster:stage', applyStage),
    );
    const apply = (message: unknown): void => {
      const parsed = SharedStatus.safeParse(message);
      if (!parsed.success || parsed.data.from === this.nodeName) return;
      liveClasses
        .applySharedStatus(parsed.data.push)
        .catch((err: unknown) =>
          this.#log.warn({ err, classId: parsed.data.push.classId }, 'could not apply the status another node shared'),
        );
    };
    this.#io.on('cluster:status', apply);
    this.#offs.push(
      () => liveClasses.off('status', share),
      () => void this.#io.off('cluster:status', apply),
    );
  }

  #link(originNode: string): OriginLink {
    const ask = async <T>(
      event: 'cluster:pipe' | 'cluster:consume' | 'cluster:adopt',
      request: PipeRequest | PipeConsumeRequest | AdoptRequest,
    ): Promise<T> => {
      // The Redis adapter waits for every other node's answer up to its requestsTimeout (5 s).
      const answers = (await this.#io.serverSideEmitWithAck(event, request as never).catch((err: unknown) => {
        throw new DomainError('unavailable', `The class's media server (${originNode}) did not answer: ${(err as Error).message}`);
      })) as (T | { error: string } | null)[];
      const answer = answers.find((a) => a !== null);
      if (!answer) throw new OriginGone(originNode);
      if (typeof answer === 'object' && 'error' in answer) throw new DomainError('unavailable', answer.error);
      return answer;
    };
    return {
      pipe: (classId, ip, port) => ask<PipeReply>('cluster:pipe', { to: originNode, from: this.nodeName, classId, ip, port }),
      consume: (classId, transportId, producerId) =>
        ask<PipeConsumeReply>('cluster:consume', { to: originNode, classId, transportId, producerId }),
      unpipe: (classId, transportId) => this.#tell('cluster:unpipe', { to: originNode, classId, transportId }),
      adopt: (classId, transportId, source, rtpParameters) =>
        ask('cluster:adopt', {
          to: originNode,
          from: this.nodeName,
          classId,
          transportId,
          source,
          rtpParameters: rtpParameters as Record<string, unknown>,
        }),
      tell: (change) => this.#tell('cluster:source', { ...change, from: this.nodeName }),
    };
  }

  /** Tells every other node (nothing once this node closes: the adapter's Redis clients go with the Socket.io server). */
  #tell<E extends 'cluster:source' | 'cluster:origin' | 'cluster:status' | 'cluster:stage' | 'cluster:unpipe'>(
    event: E,
    message: Parameters<InterNodeEvents[E]>[0],
  ): void {
    if (this.#closed) return;
    try {
      // Socket.io's typing cannot follow a generic event name; each call site is typed by the message parameter.
      const emit = this.#io.serverSideEmit.bind(this.#io) as unknown as (event: string, message: unknown) => boolean;
      emit(event, message);
    } catch (err) {
      this.#log.warn({ err, event }, 'could not tell the other nodes');
    }
  }

  #listen(): void {
    const io = this.#io;
    const answerWith =
      <T>(schema: typeof PipeRequest | typeof PipeConsumeRequest | typeof AdoptRequest, work: (request: never) => Promise<T>) =>
      (message: unknown, answer: (reply: T | { error: string } | null) => void): void => {
        const parsed = schema.safeParse(message);
        if (!parsed.success || parsed.data.to !== this.nodeName) return answer(null);
        work(parsed.data as never).then(answer, (err: unknown) => answer({ error: (err as Error).message }));
      };
    const onPipe = answerWith(PipeRequest, (r: PipeRequest) => this.#pipes.pipe(r.classId, r.ip, r.port));
    const onConsume = answerWith(PipeConsumeRequest, (r: PipeConsumeRequest) =>
      this.#pipes.consume(r.classId, r.transportId, r.producerId),
    );
    const onAdopt = answerWith(AdoptRequest, (r: AdoptRequest) => this.#pipes.adopt(r));
    const onUnpipe = (message: unknown): void => {
      const parsed = PipeClose.safeParse(message);
      if (parsed.success && parsed.data.to === this.nodeName) this.#pipes.unpipe(parsed.data.classId, parsed.data.transportId);
    };
    const onSource = (message: unknown): void => {
      const parsed = SourceChange.safeParse(message);
      if (!parsed.success) return;
      this.#pipes.follow(parsed.data); // a source an edge handed up to this node
      const feed = this.#feeds.get(parsed.data.classId);
      if (feed && feed.room.fedFrom === parsed.data.from) feed.follow(parsed.data);
    };
    const onOrigin = (message: unknown): void => {
      const parsed = OriginMoved.safeParse(message);
      if (!parsed.success || parsed.data.nodeId === this.nodeName) return;
      const room = this.#rooms.get(parsed.data.classId);
      if (room && room.fedFrom !== parsed.data.nodeId) this.#dropRoom(parsed.data.classId, 'the teacher publishes on another node');
    };
    io.on('cluster:pipe', onPipe);
    io.on('cluster:consume', onConsume);
    io.on('cluster:adopt', onAdopt);
    io.on('cluster:unpipe', onUnpipe);
    io.on('cluster:source', onSource);
    io.on('cluster:origin', onOrigin);
    this.#offs.push(() => {
      io.off('cluster:pipe', onPipe);
      io.off('cluster:consume', onConsume);
      io.off('cluster:adopt', onAdopt);
      io.off('cluster:unpipe', onUnpipe);
      io.off('cluster:source', onSource);
      io.off('cluster:origin', onOrigin);
    });
  }

  /**
   * Edge rooms whose origin no longer holds the class (it died, or the class moved) close; clients rebuild. One
   * check at a time (a lookup waits while Redis is away); a class with no holder just after Redis came back (it may
   * have lost the claims) keeps its room while its origin writes its claim again.
   */
  async #checkOrigins(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      for (const [classId, feed] of [...this.#feeds]) {
        if (this.#closed) return;
        await this.#checkOrigin(classId, feed);
      }
    } finally {
      this.#checking = false;
    }
  }

  async #checkOrigin(classId: string, feed: EdgeFeed): Promise<void> {
    const holder = await this.#origins.holder(classId).catch(() => feed.room.fedFrom);
    if ((holder === undefined && this.#origins.settling) || holder === feed.room.fedFrom || feed.room.closed) return;
    this.#log.warn({ classId, origin: feed.room.fedFrom, now: holder ?? null }, "the class's origin node is gone: its edge room closes");
    feed.room.close();
  }

  #dropRoom(classId: string, why: string): void {
    const room = this.#rooms.get(classId);
    if (!room || room.closed) return;
    this.#log.info({ classId, why }, "this node's room of the class closes");
    room.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#offs) off();
    for (const feed of this.#feeds.values()) feed.close();
    this.#feeds.clear();
    this.#pipes.close();
  }
}
