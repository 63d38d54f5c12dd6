// One WHEP viewer of a live class: a peer of the class's room (seated like a student, so capacity and the
// teacher's view of connections count it) that receives on a Router of its own, whose codecs carry the payload
// types of the viewer's offer, fed from the class's origin with pipeToRouter. The session owns that Router, the
// peer, the WebRTC transport and the consumers; closing it closes them all. It follows the teacher's sources:
// the video section shows the screen while one is shared, else the camera, and the audio section the teacher's
// microphone; a source published again (a new device, an encoder reconnecting) takes over its section. It closes
// by itself when the room closes (class ended, worker died), its Router's worker dies, or its transport is lost.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AwaitQueue } from 'awaitqueue';
import type { types } from 'mediasoup';
import type { MediaKind } from '../contracts/sfu.ts';
import type { Logger } from '../log.ts';
import type { ClassroomPeer } from './classroom-peer.ts';
import type { ClassroomRoom, MediaSource } from './classroom-room.ts';
import { INITIAL_OUTGOING_BITRATE } from './media-codecs.ts';
import { watchTransport, type SessionTimeouts } from './transport-watch.ts';
import type { ViewerRouter } from './viewer-router.ts';
import { whepAnswer, type WhepOffer, type WhepSection } from './whep-sdp.ts';

export type WhepCloseReason = 'deleted' | 'ended' | 'removed' | 'replaced' | 'dtls' | 'ice' | 'worker' | 'shutdown';

type WhepSessionEvents = { connected: []; close: [reason: WhepCloseReason] };

export class WhepSession extends EventEmitter<WhepSessionEvents> {
  readonly id: string;
  readonly classId: string;
  readonly userId: string;
  readonly etag: string;
  readonly answer: string;
  readonly startedAt = new Date();
  readonly peer: ClassroomPeer;
  readonly transport: types.WebRtcTransport;
  readonly #room: ClassroomRoom;
  readonly #router: ViewerRouter;
  readonly #sections: WhepSection[];
  readonly #rtpCapabilities: types.RtpCapabilities;
  readonly #teacherId: string;
  readonly #consumers = new Map<string, types.Consumer>();
  /** Section updates run one at a time: two source changes at once must not give a section two consumers. */
  readonly #updates = new AwaitQueue();
  readonly #log: Logger;
  readonly #unwatch: () => void;
  readonly #onSources = (): void => void this.#follow();
  #closed = false;

  /**
   * Opens the session for `peer` (already seated in `room`), which it owns from now on: a failure closes it.
   * Resolves once the answer is ready and the teacher's current sources are being consumed.
   */
  static async open(options: {
    room: ClassroomRoom;
    peer: ClassroomPeer;
    offer: WhepOffer;
    teacherId: string;
    timeouts: SessionTimeouts;
    log: Logger;
  }): Promise<WhepSession> {
    const { room, peer, offer } = options;
    let router: ViewerRouter | undefined;
    // What the viewer decodes: also what makes the teacher's list of connections show it as a WebRTC student.
    peer.rtpCapabilities = offer.rtpCapabilities;
    try {
      router = await room.ownRouter(peer, offer.mediaCodecs);
      const transport = await router.router.createWebRtcTransport({
        webRtcServer: router.pooled.webRtcServer,
        enableUdp: true,
        enableTcp: true,
        preferUdp: true,
        initialAvailableOutgoingBitrate: INITIAL_OUTGOING_BITRATE,
        appData: { direction: 'recv', peerId: peer.id, routerId: router.router.id },
      });
      peer.addTransport(transport);
      await transport.connect({ dtlsParameters: offer.remoteDtls });
      const session = new WhepSession({ ...options, router, transport, answer: whepAnswer(offer, transport) });
      await session.#follow();
      if (session.closed) throw new Error('The WHEP session closed while it opened');
      return session;
    } catch (err) {
      router?.router.close();
      peer.close();
      throw err;
    }
  }

  private constructor(options: {
    room: ClassroomRoom;
    peer: ClassroomPeer;
    offer: WhepOffer;
    teacherId: string;
    router: ViewerRouter;
    transport: types.WebRtcTransport;
    answer: string;
    timeouts: SessionTimeouts;
    log: Logger;
  }) {
    super();
    this.id = options.peer.id.replace(/^whep:/, '');
    this.classId = options.room.classId;
    this.userId = options.peer.userId;
    this.peer = options.peer;
    this.transport = options.transport;
    this.answer = options.answer;
    this.etag = `"${options.transport.iceParameters.usernameFragment}"`;
    this.#room = options.room;
    this.#router = options.router;
    this.#sections = options.offer.sections;
    this.#rtpCapabilities = options.offer.rtpCapabilities;
    this.#teacherId = options.teacherId;
    this.#log = options.log.child({ classId: this.classId, whepSessionId: this.id, userId: this.userId });

    // The room closed (class ended, worker died) or the viewer was taken out of it: the session is over.
    this.peer.once('close', () => this.close('ended'));
    this.#router.router.observer.once('close', () => this.close('worker'));
    this.#unwatch = watchTransport(this.transport, options.timeouts, (cause) => this.close(cause));
    const onIce = (state: types.IceState): void => {
      if (state !== 'connected' && state !== 'completed') return;
      this.transport.off('icestatechange', onIce);
      this.emit('connected');
    };
    this.transport.on('icestatechange', onIce);
    this.#room.on('sourceadd', this.#onSources);
    this.#room.on('sourceremove', this.#onSources);
  }

  /** A new id for a session (its resource path). */
  static newId(): string {
    return crypto.randomUUID();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What each section carries now: mid -> the source (its producer in the room) and payload type; null when none. */
  playing(): Record<string, { source: string; producerId: string; payloadType: number | undefined } | null> {
    const out: Record<string, { source: string; producerId: string; payloadType: number | undefined } | null> = {};
    for (const { mid } of this.#sections) {
      const c = this.#consumers.get(mid);
      out[mid] =
        c && !c.closed
          ? {
              source: String(c.appData.source),
              producerId: String(c.appData.sourceId),
              payloadType: c.rtpParameters.codecs[0]?.payloadType,
            }
          : null;
    }
    return out;
  }

  close(reason: WhepCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    this.#updates.stop();
    this.#room.off('sourceadd', this.#onSources);
    this.#room.off('sourceremove', this.#onSources);
    this.#consumers.clear();
    this.peer.close();
    this.#router.router.close();
    this.#log.info({ reason }, 'WHEP session closed');
    this.emit('close', reason);
  }

  /** The teacher's source a section of this kind shows now: the latest screen share, else camera; the mic. */
  #wanted(kind: MediaKind): MediaSource | undefined {
    const teacher = this.#room.mediaSources().filter((s) => s.userId === this.#teacherId && !s.producer.closed);
    const latest = (name: string): MediaSource | undefined => teacher.filter((s) => s.source === name).at(-1);
    return kind === 'audio' ? latest('mic') : (latest('screen') ?? latest('camera'));
  }

  /** Points every section at the source it should show (a new consumer where that changed). */
  #follow(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#updates
      .push(async () => {
        for (const section of this.#sections) {
          if (this.#closed) return;
          await this.#show(section, this.#wanted(section.kind));
        }
      }, 'follow')
      .catch((err: unknown) => {
        if (!this.#closed) this.#log.warn({ err }, 'could not follow the teacher’s sources');
      });
  }

  async #show({ mid }: WhepSection, source: MediaSource | undefined): Promise<void> {
    const current = this.#consumers.get(mid);
    if (current && !current.closed && current.appData.sourceId === source?.producer.id) return;
    current?.close();
    this.#consumers.delete(mid);
    if (!source) return;
    let producerId: string;
    try {
      producerId = await this.#router.pipe(source.producer.id);
    } catch (err) {
      // The viewer's offer lacks the source's codec (the pipe producer cannot be made), or the source just closed.
      this.#log.warn({ err, source: source.source }, 'source cannot reach this viewer');
      return;
    }
    if (this.#closed) return;
    if (!this.#router.router.canConsume({ producerId, rtpCapabilities: this.#rtpCapabilities })) {
      this.#log.warn(
        { source: source.source, mimeType: source.producer.rtpParameters.codecs[0]?.mimeType },
        'the viewer’s offer cannot carry this source',
      );
      return;
    }
    const consumer = await this.transport.consume({
      producerId,
      rtpCapabilities: this.#rtpCapabilities,
      appData: { source: source.source, userId: source.userId, mid, sourceId: source.producer.id },
    });
    if (this.#closed) return consumer.close();
    this.peer.addConsumer(consumer);
    this.#consumers.set(mid, consumer);
    this.#log.info(
      { mid, source: source.source, producerId, payloadType: consumer.rtpParameters.codecs[0]?.payloadType },
      'WHEP section shows a source',
    );
  }
}
