// The browser's side of a live class on the SFU: one mediasoup-client Device, at most one send and one
// receive transport, the producers this user publishes and a consumer per remote source. State is reactive
// (Svelte runes) so pages render it directly. ICE trouble restarts ICE; `reset` from the server (the media
// server restarted) or a socket reconnect rebuilds everything through `start()` again.
import { Device, type types } from 'mediasoup-client';
import type { Socket } from 'socket.io-client';
import type {
  ConsumerInfo,
  MediaSourceName,
  RouterInfo,
  SfuJoined,
  SourceInfo,
  TransportInfo,
} from '@lectern/contracts/sfu';
import { request } from '#lib/realtime/socket.ts';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

export interface RemoteSource {
  producerId: string;
  consumerId: string;
  source: MediaSourceName;
  kind: 'audio' | 'video';
  userId: string;
  displayName: string;
  track: MediaStreamTrack;
  /** The publisher paused it (mic muted, camera off). */
  producerPaused: boolean;
}

/** Camera simulcast: three layers (1/4, 1/2, full) so each student gets what their network and screen take. */
const CAMERA_ENCODINGS: RTCRtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000, maxFramerate: 15 },
  { scaleResolutionDownBy: 2, maxBitrate: 500_000, maxFramerate: 30 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_800_000, maxFramerate: 30 },
];
/** A screen share is one sharp layer: text must stay readable, motion matters less. */
const SCREEN_ENCODINGS: RTCRtpEncodingParameters[] = [{ maxBitrate: 2_500_000, maxFramerate: 15 }];

export class SfuSession {
  state = $state<ConnectionState>('idle');
  /** 'hls' when the class's real-time seats are taken: the page shows the broadcast player instead. */
  mode = $state<'webrtc' | 'hls' | undefined>(undefined);
  hlsReason = $state<string | undefined>(undefined);
  remote = $state<RemoteSource[]>([]);
  published = $state<Partial<Record<MediaSourceName, { producerId: string; paused: boolean }>>>({});
  onStage = $state(false);
  error = $state<string | undefined>(undefined);

  readonly #socket: Socket;
  readonly #wantConsume: boolean;
  #device: Device | undefined;
  #iceServers: RTCIceServer[] = [];
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  #producers = new Map<MediaSourceName, types.Producer>();
  #consumers = new Map<string, types.Consumer>();
  #listeners: [string, (...args: any[]) => void][] = [];
  #iceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #generation = 0;

  constructor(socket: Socket, options: { consume?: boolean } = {}) {
    this.#socket = socket;
    this.#wantConsume = options.consume ?? true;
    this.#listen('sfu:newProducer', (info: SourceInfo) => void this.#consume(info));
    this.#listen('sfu:producerClosed', ({ producerId }: { producerId: string }) => this.#dropProducer(producerId));
    this.#listen('sfu:consumerClosed', ({ producerId }: { producerId: string }) => this.#dropProducer(producerId));
    this.#listen('sfu:consumerPaused', ({ producerId }: { producerId: string }) => this.#markPaused(producerId, true));
    this.#listen('sfu:consumerResumed', ({ producerId }: { producerId: string }) => this.#markPaused(producerId, false));
    this.#listen('sfu:reset', () => {
      if (this.state !== 'closed') void this.start();
    });
  }

  get socket(): Socket {
    return this.#socket;
  }

  /** Joins the class's media (after class:join and once it is live); safe to call again to rebuild. */
  async start(): Promise<'webrtc' | 'hls'> {
    const generation = ++this.#generation;
    this.#teardown();
    this.state = this.state === 'idle' ? 'connecting' : 'reconnecting';
    this.error = undefined;
    try {
      const info = await request<RouterInfo>(this.#socket, 'sfu:getRouterRtpCapabilities', {});
      if (info.mode === 'hls') return this.#toHls(info.reason);
      this.#iceServers = info.iceServers as RTCIceServer[];
      if (!this.#device?.loaded) {
        this.#device = await Device.factory();
        await this.#device.load({ routerRtpCapabilities: info.routerRtpCapabilities as types.RtpCapabilities });
      }
      const joined = await request<SfuJoined>(this.#socket, 'sfu:join', { rtpCapabilities: this.#device.rtpCapabilities });
      if (joined.mode === 'hls') return this.#toHls(joined.reason);
      if (generation !== this.#generation) return 'webrtc';
      this.mode = 'webrtc';
      this.onStage = joined.onStage;
      if (this.#wantConsume) {
        await this.#ensureRecv();
        for (const source of joined.sources) await this.#consume(source);
      }
      if (generation === this.#generation) this.state = 'connected';
      return 'webrtc';
    } catch (err) {
      if (generation === this.#generation) {
        this.state = 'failed';
        this.error = err instanceof Error ? err.message : String(err);
      }
      throw err;
    }
  }

  /** Publishes a track as `source`, replacing what was published as that source before. */
  async publish(source: MediaSourceName, track: MediaStreamTrack): Promise<void> {
    const transport = await this.#ensureSend();
    this.#producers.get(source)?.close();
    const video = track.kind === 'video';
    if (source === 'screen' && 'contentHint' in track) track.contentHint = 'detail';
    const producer = await transport.produce({
      track,
      stopTracks: false,
      ...(source === 'camera' ? { encodings: CAMERA_ENCODINGS, codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
      ...(source === 'screen' ? { encodings: SCREEN_ENCODINGS } : {}),
      ...(!video ? { codecOptions: { opusStereo: source === 'screen-audio', opusDtx: source === 'mic', opusFec: true } } : {}),
      appData: { source },
    });
    this.#producers.set(source, producer);
    this.published = { ...this.published, [source]: { producerId: producer.id, paused: false } };
    producer.on('trackended', () => void this.unpublish(source));
    producer.on('transportclose', () => this.#forgetProducer(source, producer));
  }

  async unpublish(source: MediaSourceName): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    this.#forgetProducer(source, producer);
    producer.close();
    await request(this.#socket, 'sfu:closeProducer', { producerId: producer.id }).catch(() => {});
  }

  /** Mutes (camera off / mic muted) without renegotiating: the server stops forwarding it. */
  async setPaused(source: MediaSourceName, paused: boolean): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    if (paused) producer.pause();
    else producer.resume();
    this.published = { ...this.published, [source]: { producerId: producer.id, paused } };
    await request(this.#socket, paused ? 'sfu:pauseProducer' : 'sfu:resumeProducer', { producerId: producer.id });
  }

  async replaceTrack(source: MediaSourceName, track: MediaStreamTrack): Promise<boolean> {
    const producer = this.#producers.get(source);
    if (!producer) return false;
    await producer.replaceTrack({ track });
    return true;
  }

  /** The layer a video consumer should receive given the height it is shown at (0 = hidden: paused). */
  async fitConsumer(producerId: string, shownHeightPx: number): Promise<void> {
    const consumer = [...this.#consumers.values()].find((c) => c.producerId === producerId);
    if (!consumer || consumer.kind !== 'video' || consumer.closed) return;
    if (shownHeightPx <= 0) {
      if (!consumer.paused) {
        consumer.pause();
        await request(this.#socket, 'sfu:pauseConsumer', { consumerId: consumer.id }).catch(() => {});
      }
      return;
    }
    if (consumer.paused) {
      consumer.resume();
      await request(this.#socket, 'sfu:resumeConsumer', { consumerId: consumer.id }).catch(() => {});
    }
    const spatialLayer = shownHeightPx <= 200 ? 0 : shownHeightPx <= 420 ? 1 : 2;
    await request(this.#socket, 'sfu:setPreferredLayers', { consumerId: consumer.id, spatialLayer }).catch(() => {});
  }

  /** Stats of the receive (or send) transport, for the connection-quality indicator. */
  async stats(): Promise<RTCStatsReport | undefined> {
    const transport = this.#recv ?? this.#send;
    return transport && !transport.closed ? transport.getStats() : undefined;
  }

  close(): void {
    this.state = 'closed';
    this.#generation++;
    this.#teardown();
    for (const [event, fn] of this.#listeners) this.#socket.off(event, fn);
    this.#listeners = [];
  }

  // ---------------------------------------------------------------------------------------------------------

  #listen(event: string, fn: (...args: any[]) => void): void {
    this.#socket.on(event, fn);
    this.#listeners.push([event, fn]);
  }

  #toHls(reason: string): 'hls' {
    this.mode = 'hls';
    this.hlsReason = reason;
    this.state = 'connected';
    return 'hls';
  }

  #teardown(): void {
    for (const timer of this.#iceTimers.values()) clearTimeout(timer);
    this.#iceTimers.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#send = undefined;
    this.#recv = undefined;
    this.#producers.clear();
    this.#consumers.clear();
    this.remote = [];
    this.published = {};
  }

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const device = this.#device;
    if (!device) throw new Error('The media session has not started');
    const info = await request<TransportInfo>(this.#socket, 'sfu:createTransport', { direction });
    const options = {
      id: info.id,
      iceParameters: info.iceParameters as types.IceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
      iceServers: this.#iceServers,
    };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      request(this.#socket, 'sfu:connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        request<{ producerId: string }>(this.#socket, 'sfu:produce', {
          transportId: transport.id,
          kind,
          rtpParameters,
          source: appData.source,
        }).then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    transport.on('connectionstatechange', (state) => this.#onTransportState(transport, state));
    return transport;
  }

  #onTransportState(transport: types.Transport, state: RTCPeerConnectionState): void {
    if (transport.closed || this.state === 'closed') return;
    clearTimeout(this.#iceTimers.get(transport.id));
    if (state === 'connected') {
      if (this.state === 'reconnecting' || this.state === 'connecting') this.state = 'connected';
      return;
    }
    if (state === 'disconnected' || state === 'failed') {
      this.state = 'reconnecting';
      // 'disconnected' often heals on its own; give it a moment before restarting ICE.
      const delay = state === 'failed' ? 0 : 2000;
      this.#iceTimers.set(
        transport.id,
        setTimeout(() => {
          request<{ iceParameters: types.IceParameters }>(this.#socket, 'sfu:restartIce', { transportId: transport.id })
            .then(({ iceParameters }) => transport.restartIce({ iceParameters }))
            .catch(() => {
              // The transport is gone on the server (e.g. the socket reconnected): rebuild from scratch.
              if (this.state !== 'closed') void this.start().catch(() => {});
            });
        }, delay),
      );
    }
  }

  async #ensureSend(): Promise<types.Transport> {
    if (!this.#send || this.#send.closed) this.#send = await this.#createTransport('send');
    return this.#send;
  }

  async #ensureRecv(): Promise<types.Transport> {
    if (!this.#recv || this.#recv.closed) this.#recv = await this.#createTransport('recv');
    return this.#recv;
  }

  async #consume(info: SourceInfo): Promise<void> {
    if (!this.#wantConsume || this.mode !== 'webrtc') return;
    try {
      const transport = await this.#ensureRecv();
      const c = await request<ConsumerInfo>(this.#socket, 'sfu:consume', { producerId: info.producerId });
      const consumer = await transport.consume({
        id: c.consumerId,
        producerId: c.producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters as types.RtpParameters,
        appData: { source: c.source },
      });
      this.#dropProducer(c.producerId);
      this.#consumers.set(consumer.id, consumer);
      this.remote = [
        ...this.remote,
        {
          producerId: c.producerId,
          consumerId: consumer.id,
          source: c.source,
          kind: c.kind,
          userId: c.userId,
          displayName: info.displayName,
          track: consumer.track,
          producerPaused: c.producerPaused,
        },
      ];
      await request(this.#socket, 'sfu:resumeConsumer', { consumerId: consumer.id });
    } catch (err) {
      // A source that vanished while we asked for it is not an error worth showing.
      if ((err as { code?: string }).code !== 'not_found') this.error = `Could not receive ${info.source}: ${(err as Error).message}`;
    }
  }

  #dropProducer(producerId: string): void {
    for (const [id, consumer] of this.#consumers) {
      if (consumer.producerId !== producerId) continue;
      consumer.close();
      this.#consumers.delete(id);
    }
    if (this.remote.some((r) => r.producerId === producerId)) this.remote = this.remote.filter((r) => r.producerId !== producerId);
  }

  #markPaused(producerId: string, paused: boolean): void {
    this.remote = this.remote.map((r) => (r.producerId === producerId ? { ...r, producerPaused: paused } : r));
  }

  #forgetProducer(source: MediaSourceName, producer: types.Producer): void {
    if (this.#producers.get(source) !== producer) return;
    this.#producers.delete(source);
    const { [source]: _gone, ...rest } = this.published;
    this.published = rest;
  }
}
