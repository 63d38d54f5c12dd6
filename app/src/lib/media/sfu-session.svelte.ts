// The browser's side of a live class on the SFU: one mediasoup-client Device, at most one send and one
// receive transport, the producers this user publishes and a consumer per remote source. State is reactive
// (Svelte runes) so pages render it directly. ICE trouble restarts ICE; `reset` from the server (the media
// server restarted) or a socket reconnect rebuilds everything through `start()` again. A viewer whose WebRTC
// cannot connect (ICE fails and a restart does not heal it while signalling works) moves to the broadcast
// (HLS); so does one who asks for it. In HLS mode the server holds nothing for them: no transport, no consumer.
import { AwaitQueue } from 'awaitqueue';
import { Device, type types } from 'mediasoup-client';
import type { HlsCause, MediaSourceName, SourceInfo } from '@lectern/contracts/sfu';
import type { ServerToClientEvents } from '@lectern/contracts/protocol';
import { listen, request, type ClassSocket } from '#lib/realtime/socket.ts';

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
/** The top `layers` of the camera's simulcast; one layer is a single full-size stream (no simulcast). */
function cameraEncodings(layers: number): RTCRtpEncodingParameters[] {
  return layers <= 1 ? [{ maxBitrate: 1_800_000, maxFramerate: 30 }] : CAMERA_ENCODINGS.slice(-layers);
}
/** A screen share is one sharp layer: text must stay readable, motion matters less. */
const SCREEN_ENCODINGS: RTCRtpEncodingParameters[] = [{ maxBitrate: 2_500_000, maxFramerate: 15 }];

/**
 * Videos are not lip-synced to the audio. Chrome delays whichever of a pair is ahead until both play together,
 * and on a lossy or jittery link the audio's jitter buffer (NetEq) is the one that grows: measured at 1 % loss
 * and 40 ms RTT, the student's audio buffer held 200-300 ms and lip sync held every video frame back as long
 * (video buffer ~190 ms where ~60 ms would do), so the picture ran 270 ms behind instead of 150 ms. In a lecture
 * the picture is the board, the slides and the teacher's face; a voice a few tens of milliseconds off the lips
 * costs less than a picture a quarter second late, and a video stall (a key frame, a layer switch) never
 * touches the sound either way.
 */
const VIDEO_WITHOUT_LIP_SYNC = true;
/** A transport that started ICE and is not connected after this long is treated as failed. */
const ICE_CONNECT_TIMEOUT_MS = 8000;
/** 'disconnected' often heals on its own (a Wi-Fi hiccup): wait this long before restarting ICE. */
const ICE_DISCONNECTED_GRACE_MS = 2000;
/** After an ICE restart, how long to wait for the connection before the next step (another try, or HLS). */
const ICE_RESTART_TIMEOUT_MS = 5000;

/** What the page shows for each reason a viewer watches the broadcast instead of the real-time stream. */
export const HLS_REASONS: Record<Exclude<HlsCause, 'cap'>, string> = {
  choice: 'You chose the low-bandwidth broadcast.',
  ice: 'Connection problem: switched to broadcast mode (HLS)',
};

export interface SfuSessionOptions {
  /** Receive the class's sources (students, and the teacher for students on stage). Default true. */
  consume?: boolean;
  /** A viewer whose WebRTC cannot connect moves to the broadcast (HLS). Default false (the teacher retries). */
  fallbackToHls?: boolean;
  /** Start in the broadcast (HLS) mode, as if the viewer had chosen it (a ?mode=hls link). */
  preferHls?: boolean;
}

export class SfuSession {
  state = $state<ConnectionState>('idle');
  /** 'hls' when the viewer watches the broadcast player instead (see `hlsCause`). */
  mode = $state<'webrtc' | 'hls' | undefined>(undefined);
  /** Why the viewer is in HLS mode: they chose it, their WebRTC failed, or the real-time seats are taken. */
  hlsCause = $state<HlsCause | undefined>(undefined);
  hlsReason = $state<string | undefined>(undefined);
  remote = $state<RemoteSource[]>([]);
  published = $state<Partial<Record<MediaSourceName, { producerId: string; paused: boolean }>>>({});
  onStage = $state(false);
  error = $state<string | undefined>(undefined);
  /** The send transport's connection (publishers): 'none' while there is none. */
  sendConnection = $state<RTCPeerConnectionState | 'none'>('none');
  /**
   * The send transport did not connect in time (first try, or after an ICE restart): the media server looks
   * unreachable from here over UDP and TCP (and the relay, if one is configured). Cleared once it connects.
   */
  sendUnreachable = $state(false);

  readonly #socket: ClassSocket;
  readonly #wantConsume: boolean;
  readonly #fallbackToHls: boolean;
  #device: Device | undefined;
  #iceServers: RTCIceServer[] = [];
  #cameraLayers = CAMERA_ENCODINGS.length;
  #send: types.Transport | undefined;
  #recv: types.Transport | undefined;
  #producers = new Map<MediaSourceName, types.Producer>();
  /** What this user asked to publish (and whether paused): what a rebuild publishes again. */
  #wanted = new Map<MediaSourceName, { track: MediaStreamTrack; paused: boolean }>();
  #consumers = new Map<string, types.Consumer>();
  /** Removes each socket listener this session added. */
  readonly #unlisten: (() => void)[] = [];
  #iceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** ICE restarts tried per transport since it was last connected. */
  #iceRestarts = new Map<string, number>();
  /** Bumped by every rebuild: work begun for an older generation stops (or undoes itself) when it sees it. */
  #generation = 0;
  /** start() and useHls() run one at a time, in order: a rebuild never interleaves with another. */
  readonly #queue = new AwaitQueue();
  #recvOpening: Promise<types.Transport> | undefined;
  #sendOpening: Promise<types.Transport> | undefined;
  /** The current send transport has been connected at least once. */
  #sendConnectedOnce = false;

  constructor(socket: ClassSocket, options: SfuSessionOptions = {}) {
    this.#socket = socket;
    this.#wantConsume = options.consume ?? true;
    this.#fallbackToHls = options.fallbackToHls ?? false;
    if (options.preferHls) this.hlsCause = 'choice';
    this.#listen('sfu:newProducer', (info: SourceInfo) => void this.#consume(info));
    this.#listen('sfu:producerClosed', ({ producerId }: { producerId: string }) => this.#dropProducer(producerId));
    this.#listen('sfu:consumerClosed', ({ producerId }: { producerId: string }) => this.#dropProducer(producerId));
    this.#listen('sfu:consumerPaused', ({ producerId }: { producerId: string }) => this.#markPaused(producerId, true));
    this.#listen('sfu:consumerResumed', ({ producerId }: { producerId: string }) => this.#markPaused(producerId, false));
    this.#listen('sfu:reset', () => {
      if (this.state !== 'closed') void this.start();
    });
  }

  get socket(): ClassSocket {
    return this.#socket;
  }

  /** The server handed out a TURN relay (so "unreachable" means: not even through the relay). */
  get hasRelay(): boolean {
    return this.#iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
  }

  /**
   * Joins the class's media (after class:join and once it is live); safe to call again to rebuild. A viewer
   * who chose the broadcast, or whose WebRTC failed, stays on it (`useWebRtc()` tries real time again).
   */
  start(): Promise<'webrtc' | 'hls'> {
    return this.#serial(() => this.#start());
  }

  /**
   * Watches the broadcast (HLS) instead of the real-time stream: closes the transports here and tells the
   * server, which closes the receive side there, so no WebRTC media flows to this viewer any more.
   */
  useHls(cause: HlsCause, reason = cause === 'cap' ? undefined : HLS_REASONS[cause]): Promise<'hls'> {
    return this.#serial(() => this.#useHls(cause, reason));
  }

  /** Back to the real-time stream (after `useHls`): joins the SFU again; the seats may still send us to HLS. */
  useWebRtc(): Promise<'webrtc' | 'hls'> {
    return this.#serial(() => {
      this.hlsCause = undefined;
      this.hlsReason = undefined;
      return this.#start();
    });
  }

  /** After a rebuild: publishes again what was published before (a student taken off stage meanwhile may not). */
  async #republish(generation: number): Promise<void> {
    for (const [source, wanted] of [...this.#wanted]) {
      if (generation !== this.#generation || wanted.track.readyState === 'ended') continue;
      try {
        await this.#produce(source, wanted.track);
        if (wanted.paused) await this.setPaused(source, true);
      } catch (err) {
        if ((err as { code?: string }).code !== 'forbidden') throw err;
        this.#wanted.delete(source);
      }
    }
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    return this.#queue.push(work);
  }

  async #start(): Promise<'webrtc' | 'hls'> {
    if (this.state === 'closed') return this.mode ?? 'webrtc';
    if (this.hlsCause === 'choice' || this.hlsCause === 'ice') return this.#useHls(this.hlsCause, this.hlsReason);
    const generation = ++this.#generation;
    this.#teardown();
    this.state = this.state === 'idle' ? 'connecting' : 'reconnecting';
    this.error = undefined;
    try {
      const info = await request(this.#socket, 'sfu:getRouterRtpCapabilities', {});
      if (generation !== this.#generation) return this.mode ?? 'webrtc';
      if (info.mode === 'hls') return this.#useHls('cap', info.reason);
      this.#iceServers = info.iceServers as RTCIceServer[];
      this.#cameraLayers = info.cameraLayers;
      if (!this.#device?.loaded) {
        this.#device = await Device.factory();
        await this.#device.load({ routerRtpCapabilities: info.routerRtpCapabilities as types.RtpCapabilities });
      }
      const joined = await request(this.#socket, 'sfu:join', { rtpCapabilities: this.#device.rtpCapabilities });
      if (generation !== this.#generation) return this.mode ?? 'webrtc';
      if (joined.mode === 'hls') return this.#useHls('cap', joined.reason);
      this.mode = 'webrtc';
      this.hlsCause = undefined;
      this.hlsReason = undefined;
      this.onStage = joined.onStage;
      await this.#republish(generation);
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

  async #useHls(cause: HlsCause, reason: string | undefined): Promise<'hls'> {
    if (this.state === 'closed') return 'hls';
    const generation = ++this.#generation;
    this.#teardown();
    this.mode = 'hls';
    this.hlsCause = cause;
    this.hlsReason = reason;
    this.state = 'connected';
    this.error = undefined;
    // Offline now: the server drops this connection's media anyway, and a reconnect calls start() again.
    if (this.#socket.connected) {
      await request(this.#socket, 'sfu:useHls', { cause }).catch((err: Error) => {
        if (generation === this.#generation) this.error = err.message;
      });
    }
    return 'hls';
  }

  /**
   * Publishes a track as `source`, replacing what was published as that source before. The session keeps
   * publishing it: a rebuild (reconnect, media server reset) publishes it again, paused if it was.
   */
  async publish(source: MediaSourceName, track: MediaStreamTrack): Promise<void> {
    const live = this.#producers.get(source);
    if (live && !live.closed && live.track === track && this.#wanted.get(source)?.track === track) return;
    this.#wanted.set(source, { track, paused: false });
    await this.#produce(source, track);
  }

  async #produce(source: MediaSourceName, track: MediaStreamTrack): Promise<void> {
    const transport = await this.#ensureSend();
    this.#producers.get(source)?.close();
    const video = track.kind === 'video';
    if (source === 'screen' && 'contentHint' in track) track.contentHint = 'detail';
    const producer = await transport.produce({
      track,
      stopTracks: false,
      ...(source === 'camera' ? { encodings: cameraEncodings(this.#cameraLayers), codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
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
    this.#wanted.delete(source);
    const producer = this.#producers.get(source);
    if (!producer) return;
    this.#forgetProducer(source, producer);
    producer.close();
    await request(this.#socket, 'sfu:closeProducer', { producerId: producer.id }).catch(() => {});
  }

  /** Mutes (camera off / mic muted) without renegotiating: the server stops forwarding it. */
  async setPaused(source: MediaSourceName, paused: boolean): Promise<void> {
    const wanted = this.#wanted.get(source);
    if (wanted) wanted.paused = paused;
    const producer = this.#producers.get(source);
    if (!producer) return;
    if (paused) producer.pause();
    else producer.resume();
    this.published = { ...this.published, [source]: { producerId: producer.id, paused } };
    await request(this.#socket, paused ? 'sfu:pauseProducer' : 'sfu:resumeProducer', { producerId: producer.id });
  }

  async replaceTrack(source: MediaSourceName, track: MediaStreamTrack): Promise<boolean> {
    const wanted = this.#wanted.get(source);
    if (wanted) wanted.track = track;
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
    this.#wanted.clear();
    this.state = 'closed';
    this.#generation++;
    this.#teardown();
    for (const off of this.#unlisten.splice(0)) off();
  }

  // ---------------------------------------------------------------------------------------------------------

  #listen<E extends keyof ServerToClientEvents>(event: E, fn: ServerToClientEvents[E]): void {
    this.#unlisten.push(listen(this.#socket, event, fn));
  }

  #teardown(): void {
    for (const timer of this.#iceTimers.values()) clearTimeout(timer);
    this.#iceTimers.clear();
    this.#iceRestarts.clear();
    this.#send?.close();
    this.#recv?.close();
    this.#send = undefined;
    this.#recv = undefined;
    this.#sendOpening = undefined;
    this.#recvOpening = undefined;
    this.#producers.clear();
    this.#consumers.clear();
    this.remote = [];
    this.published = {};
    this.sendConnection = 'none';
    this.sendUnreachable = false;
  }

  async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
    const device = this.#device;
    if (!device) throw new Error('The media session has not started');
    const info = await request(this.#socket, 'sfu:createTransport', { direction });
    const options = {
      id: info.id,
      iceParameters: info.iceParameters as types.IceParameters,
      iceCandidates: info.iceCandidates as types.IceCandidate[],
      dtlsParameters: info.dtlsParameters as types.DtlsParameters,
      iceServers: this.#iceServers,
    };
    const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      // ICE starts now (the first produce or consume): it must connect within a few seconds.
      this.#armIceTimer(transport, ICE_CONNECT_TIMEOUT_MS);
      request(this.#socket, 'sfu:connectTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
        request(this.#socket, 'sfu:produce', {
          transportId: transport.id,
          kind,
          rtpParameters,
          source: appData.source as MediaSourceName,
        }).then(({ producerId }) => callback({ id: producerId }), errback);
      });
    }
    transport.on('connectionstatechange', (state) => this.#onTransportState(transport, state));
    return transport;
  }

  #onTransportState(transport: types.Transport, state: RTCPeerConnectionState): void {
    if (transport.closed || this.state === 'closed') return;
    if (transport === this.#send) {
      this.sendConnection = state;
      if (state === 'connected') {
        this.sendUnreachable = false;
        this.#sendConnectedOnce = true;
      }
    }
    if (state === 'connected') {
      clearTimeout(this.#iceTimers.get(transport.id));
      this.#iceTimers.delete(transport.id);
      this.#iceRestarts.delete(transport.id);
      if (this.state === 'reconnecting' || this.state === 'connecting') this.state = 'connected';
      return;
    }
    if (state === 'failed') {
      this.state = 'reconnecting';
      this.#recoverIce(transport);
    } else if (state === 'disconnected') {
      this.state = 'reconnecting';
      this.#armIceTimer(transport, ICE_DISCONNECTED_GRACE_MS);
    }
  }

  /** Unless the transport connects within `ms`, the recovery goes one step further. */
  #armIceTimer(transport: types.Transport, ms: number): void {
    clearTimeout(this.#iceTimers.get(transport.id));
    this.#iceTimers.set(
      transport.id,
      setTimeout(() => {
        this.#iceTimers.delete(transport.id);
        if (transport.closed || transport.connectionState === 'connected') return;
        // Never connected, or still not after a restart: say so (a brief drop gets its restart first).
        if (transport === this.#send && (!this.#sendConnectedOnce || (this.#iceRestarts.get(transport.id) ?? 0) > 0))
          this.sendUnreachable = true;
        this.#recoverIce(transport);
      }, ms),
    );
  }

  /**
   * One step of healing a transport that lost (or never got) its connection: restart ICE; if that did not
   * help, a viewer moves to the broadcast (HLS), while a publisher keeps restarting. Without signalling we are
   * offline: nothing to do until the socket reconnects, which rebuilds the session through start().
   */
  #recoverIce(transport: types.Transport): void {
    if (transport.closed || this.state === 'closed') return;
    if (!this.#socket.connected) return this.#armIceTimer(transport, ICE_RESTART_TIMEOUT_MS);
    if (transport === this.#send && this.#producers.size === 0) {
      // Nothing published on it any more (a student who left the stage): nothing to heal, just let it go.
      transport.close();
      this.#send = undefined;
      this.sendConnection = 'none';
      this.sendUnreachable = false;
      if (!this.#recv || this.#recv.connectionState === 'connected') this.state = 'connected';
      return;
    }
    this.state = 'reconnecting';
    const restarts = this.#iceRestarts.get(transport.id) ?? 0;
    const viewerOnly = transport === this.#recv && this.#producers.size === 0;
    if (restarts >= 1 && this.#fallbackToHls && viewerOnly) {
      void this.useHls('ice');
      return;
    }
    this.#iceRestarts.set(transport.id, restarts + 1);
    this.#armIceTimer(transport, ICE_RESTART_TIMEOUT_MS);
    request(this.#socket, 'sfu:restartIce', { transportId: transport.id })
      .then(({ iceParameters }) => {
        if (!transport.closed) return transport.restartIce({ iceParameters: iceParameters as types.IceParameters });
      })
      .catch(() => {
        // The transport is gone on the server (its peer closed): rebuild from scratch. Offline, the socket's
        // reconnect rebuilds it instead.
        if (this.state !== 'closed' && !transport.closed && this.#socket.connected) void this.start().catch(() => {});
      });
  }

  /** The send transport, created once even when several publishes ask for it at the same time. */
  #ensureSend(): Promise<types.Transport> {
    if (this.#send && !this.#send.closed) return Promise.resolve(this.#send);
    const generation = this.#generation;
    this.#sendOpening ??= this.#createTransport('send').then(
      (t) => this.#adopt(t, generation, 'send'),
      (err: unknown) => {
        if (generation === this.#generation) this.#sendOpening = undefined;
        throw err;
      },
    );
    return this.#sendOpening;
  }

  /** The receive transport, created once even when the first consumes all ask for it at the same time. */
  #ensureRecv(): Promise<types.Transport> {
    if (this.#recv && !this.#recv.closed) return Promise.resolve(this.#recv);
    const generation = this.#generation;
    this.#recvOpening ??= this.#createTransport('recv').then(
      (t) => this.#adopt(t, generation, 'recv'),
      (err: unknown) => {
        if (generation === this.#generation) this.#recvOpening = undefined;
        throw err;
      },
    );
    return this.#recvOpening;
  }

  /** Keeps a new transport, unless the session was rebuilt meanwhile (then it is closed: it belongs to nobody). */
  #adopt(transport: types.Transport, generation: number, direction: 'send' | 'recv'): types.Transport {
    if (generation !== this.#generation) {
      transport.close();
      throw new Error('The media session was rebuilt');
    }
    if (direction === 'send') {
      this.#send = transport;
      this.#sendOpening = undefined;
      this.#sendConnectedOnce = false;
      this.sendConnection = transport.connectionState;
    } else {
      this.#recv = transport;
      this.#recvOpening = undefined;
    }
    return transport;
  }

  async #consume(info: SourceInfo): Promise<void> {
    if (!this.#wantConsume || this.mode !== 'webrtc') return;
    const generation = this.#generation;
    try {
      const transport = await this.#ensureRecv();
      const c = await request(this.#socket, 'sfu:consume', { producerId: info.producerId });
      if (generation !== this.#generation || transport.closed) return;
      const consumer = await transport.consume({
        id: c.consumerId,
        producerId: c.producerId,
        kind: c.kind,
        rtpParameters: c.rtpParameters as types.RtpParameters,
        // Each video in a sync group of its own (see VIDEO_WITHOUT_LIP_SYNC); audio keeps the publisher's.
        ...(c.kind === 'video' && VIDEO_WITHOUT_LIP_SYNC ? { streamId: c.producerId } : {}),
        appData: { source: c.source },
      });
      if (generation !== this.#generation) return void consumer.close();
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
      // A source that vanished while we asked for it (or a rebuild that overtook us) is not worth showing.
      if (generation !== this.#generation) return;
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
