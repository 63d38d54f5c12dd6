// One encoder publishing a class over WHIP: a teacher peer in the class's room (so students and the HLS bridge
// get its producers exactly as from the browser studio) with one receive-only WebRTC transport. The session
// owns that peer; closing the session closes it, and with it the transport and the producers. The session
// also closes by itself when the room closes (the class ended), when DTLS closes or fails, or when ICE stays
// disconnected or never connects (an encoder that vanished without DELETE).
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import type { ClassroomPeer } from './classroom-peer.ts';
import type { ClassroomRoom } from './classroom-room.ts';
import { watchTransport, type SessionTimeouts } from './transport-watch.ts';
import { VideoMeter } from './video-meter.ts';
import { whipAnswer, type ParsedOffer } from './whip-sdp.ts';
import type { EncoderStats } from '../contracts/encoder.ts';

export type { EncoderStats } from '../contracts/encoder.ts';

export type WhipCloseReason = 'deleted' | 'ended' | 'replaced' | 'revoked' | 'dtls' | 'ice' | 'shutdown';

type WhipSessionEvents = { close: [reason: WhipCloseReason] };

export interface WhipPublisher {
  userId: string;
  displayName: string;
}

export type WhipTimeouts = SessionTimeouts;

export class WhipSession extends EventEmitter<WhipSessionEvents> {
  readonly id: string;
  readonly classId: string;
  /** The stream key it published with: rotating that key ends the session. */
  readonly streamKeyId: string;
  readonly etag: string;
  readonly answer: string;
  readonly peer: ClassroomPeer;
  readonly transport: types.WebRtcTransport;
  readonly producers: types.Producer[];
  readonly startedAt = new Date();
  readonly #log: Logger;
  readonly #meter: VideoMeter | undefined;
  readonly #unwatch: () => void;
  #closed = false;

  static async open(options: {
    room: ClassroomRoom;
    offer: ParsedOffer;
    publisher: WhipPublisher;
    streamKeyId: string;
    timeouts: WhipTimeouts;
    log: Logger;
  }): Promise<WhipSession> {
    const { room, offer, publisher } = options;
    const id = crypto.randomUUID();
    const peer = room.addPeer({ id: `whip:${id}`, userId: publisher.userId, displayName: publisher.displayName, role: 'teacher' });
    try {
      const transport = await room.createWebRtcTransport(peer, 'send');
      await transport.connect({ dtlsParameters: offer.remoteDtls });
      const producers: types.Producer[] = [];
      for (const track of offer.tracks) {
        producers.push(await room.produce(peer, transport.id, track.kind, track.rtpParameters, track.source));
      }
      const answer = whipAnswer(offer, transport);
      // The picture size and frame rate are only in the media itself; without them the studio shows the rest.
      const video = producers.find((p) => p.kind === 'video');
      const meter = video
        ? await VideoMeter.open(room.router, video).catch((err: unknown) => {
            options.log.warn({ err }, 'cannot measure the encoder video');
            return undefined;
          })
        : undefined;
      if (peer.closed) meter?.close();
      return new WhipSession({ ...options, id, peer, transport, producers, answer, meter });
    } catch (err) {
      peer.close();
      throw err;
    }
  }

  private constructor(options: {
    id: string;
    room: ClassroomRoom;
    streamKeyId: string;
    peer: ClassroomPeer;
    transport: types.WebRtcTransport;
    producers: types.Producer[];
    answer: string;
    meter: VideoMeter | undefined;
    timeouts: WhipTimeouts;
    log: Logger;
  }) {
    super();
    this.id = options.id;
    this.classId = options.room.classId;
    this.streamKeyId = options.streamKeyId;
    this.peer = options.peer;
    this.transport = options.transport;
    this.producers = options.producers;
    this.answer = options.answer;
    this.#meter = options.meter;
    this.etag = `"${options.transport.iceParameters.usernameFragment}"`;
    this.#log = options.log.child({ classId: this.classId, whipSessionId: this.id });

    // The room closed (class ended, worker died) or something closed the peer: the session is over.
    this.peer.once('close', () => this.close('ended'));
    this.#unwatch = watchTransport(this.transport, options.timeouts, (cause) => this.close(cause));
    this.#log.info(
      { tracks: this.producers.map((p) => ({ kind: p.kind, type: p.type, codec: p.rtpParameters.codecs[0]?.mimeType })) },
      'encoder publishing over WHIP',
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether media can be flowing (ICE connected): a session that is not may be replaced by its own encoder. */
  get connected(): boolean {
    return this.transport.iceState === 'connected' || this.transport.iceState === 'completed';
  }

  async stats(): Promise<EncoderStats> {
    let bitrate = 0;
    let video: EncoderStats['video'] = null;
    let audio: EncoderStats['audio'] = null;
    for (const producer of this.producers) {
      if (producer.closed) continue;
      const stats = await producer.getStats().catch(() => []);
      for (const s of stats) bitrate += s.bitrate ?? 0;
      const mimeType = producer.rtpParameters.codecs[0]?.mimeType ?? '';
      if (producer.kind === 'video' && !video) {
        const measured = this.#meter?.measure() ?? { width: null, height: null, frameRate: null };
        video = { mimeType, layers: producer.rtpParameters.encodings?.length ?? 1, ...measured };
      }
      if (producer.kind === 'audio' && !audio) audio = { mimeType };
    }
    return { bitrate, video, audio };
  }

  close(reason: WhipCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    this.#meter?.close();
    this.peer.close();
    this.#log.info({ reason }, 'WHIP session closed');
    this.emit('close', reason);
  }
}
