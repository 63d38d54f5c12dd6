// One run of the HLS bridge: the PlainTransports and Consumers that carry the chosen sources to ffmpeg, the
// SDP describing them, and the ffmpeg process. A run never changes its inputs; a new set of sources (screen
// share starts, the teacher reconnects) or a crashed ffmpeg means a new run. close() releases everything.
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { FfmpegProcess } from './ffmpeg-process.ts';
import { liveAudioStreams, type LiveStreams } from './ladder.ts';
import { sendRtcpBye } from './rtcp-bye.ts';
import { freeRtpPortPair, writeSdp, type SdpStream } from './sdp.ts';

export type BridgeSourceName = 'camera' | 'screen' | 'mic' | 'screen-audio';

export interface BridgeSource {
  source: BridgeSourceName;
  kind: 'audio' | 'video';
  producer: types.Producer;
  userId: string;
}

/** The producers a run consumes, by role in the picture and the mix. */
export interface RunInputs extends Partial<Record<BridgeSourceName, BridgeSource>> {
  /** Microphones of students on stage: their voices join the class's audio. */
  stageMics?: BridgeSource[];
}

/** Every producer of a set of inputs (two runs with the same ids carry the same media). */
export function runInputList(inputs: RunInputs): { name: RunStreamName; input: BridgeSource }[] {
  const list: { name: RunStreamName; input: BridgeSource }[] = [];
  for (const name of STREAM_ORDER) {
    const input = inputs[name];
    if (input) list.push({ name, input });
  }
  for (const input of inputs.stageMics ?? []) list.push({ name: 'stage-mic', input });
  return list;
}

type RunStreamName = BridgeSourceName | 'stage-mic';

type BridgeRunEvents = {
  /** ffmpeg exited; `expected` when the run was stopped on purpose. */
  exit: [{ code: number | null; signal: NodeJS.Signals | null; expected: boolean; stderr: string }];
};

interface RunStream {
  name: RunStreamName;
  transport: types.PlainTransport;
  consumer: types.Consumer;
  port: number;
}

const STREAM_ORDER: BridgeSourceName[] = ['camera', 'screen', 'mic', 'screen-audio'];
const START_KEYFRAME_MS = 500;
/**
 * A simulcast camera starts on its lower layers while the browser's bandwidth estimate ramps up: the probe
 * waits this long at most for the top layer before it sizes the ladder.
 */
const TOP_LAYER_WAIT_MS = 4000;
/** ffmpeg reports progress every 0.5 s while it works: this long without a change means its input is drained. */
const DRAINED_QUIET_MS = 1200;

export class BridgeRun extends EventEmitter<BridgeRunEvents> {
  readonly runId: number;
  /** One SDP per stream: ffmpeg input i reads sdpPaths[i]. */
  readonly sdpPaths: readonly string[];
  readonly streams: LiveStreams;
  readonly #streams: RunStream[];
  readonly #log: Logger;
  readonly #listenIp: string;
  readonly #keyFrameIntervalMs: number;
  #ffmpeg: FfmpegProcess | null = null;
  #keyFrameTimer: NodeJS.Timeout | undefined;
  #lastKeyFrameRequest = 0;
  #speed = Number.NaN;
  #stopping = false;
  #closed = false;
  readonly startedAt = Date.now();

  /** Creates the transports (connected to fresh ffmpeg ports) and paused consumers, and writes the SDP. */
  static async create(o: {
    router: types.Router;
    runId: number;
    inputs: RunInputs;
    /** Where the SDP describing stream `index` of the run is written (ffmpeg reads it). */
    sdpPath: (index: number) => string;
    listenIp: string;
    keyFrameIntervalMs: number;
    log: Logger;
  }): Promise<BridgeRun> {
    const streams: RunStream[] = [];
    const transports: types.PlainTransport[] = [];
    const rtpCapabilities: types.RtpCapabilities = {
      // Only the media codecs: ffmpeg neither asks for retransmissions nor reads RTP header extensions.
      codecs: (o.router.rtpCapabilities.codecs ?? []).filter((c) => !/\/rtx$/i.test(c.mimeType)),
      headerExtensions: [],
    };
    try {
      for (const { name, input } of runInputList(o.inputs)) {
        if (input.producer.closed) continue;
        const port = await freeRtpPortPair(o.listenIp);
        const transport = await o.router.createPlainTransport({
          listenInfo: { protocol: 'udp', ip: o.listenIp },
          rtcpMux: false,
          comedia: false,
          appData: { hlsRun: o.runId, source: name },
        });
        // Tracked before anything else can throw, so the catch below closes it.
        transports.push(transport);
        await transport.connect({ ip: o.listenIp, port, rtcpPort: port + 1 });
        const consumer = await transport.consume({ producerId: input.producer.id, rtpCapabilities, paused: true });
        streams.push({ name, transport, consumer, port });
      }
      const sdpPaths = streams.map((_, i) => o.sdpPath(i));
      // Inside the try: a failed write (the recording directory removed, a full disk) must not strand the transports.
      await Promise.all(
        streams.map((s, i) => {
          const sdp: SdpStream = { kind: s.consumer.kind, port: s.port, codec: s.consumer.rtpParameters.codecs[0]! };
          return fs.writeFile(sdpPaths[i]!, writeSdp([sdp], o.listenIp));
        }),
      );
      return new BridgeRun(o.runId, sdpPaths, streams, o.listenIp, o.keyFrameIntervalMs, o.log);
    } catch (err) {
      for (const t of transports) t.close();
      throw err;
    }
  }

  private constructor(
    runId: number,
    sdpPaths: readonly string[],
    streams: RunStream[],
    listenIp: string,
    keyFrameIntervalMs: number,
    log: Logger,
  ) {
    super();
    this.runId = runId;
    this.#listenIp = listenIp;
    this.sdpPaths = sdpPaths;
    this.#streams = streams;
    this.#keyFrameIntervalMs = keyFrameIntervalMs;
    this.#log = log.child({ run: runId });
    const index = (name: RunStreamName) => {
      const i = streams.findIndex((s) => s.name === name);
      return i >= 0 ? i : undefined;
    };
    const stageAudio = streams.flatMap((s, i) => (s.name === 'stage-mic' ? [i] : []));
    this.streams = {
      ...(index('camera') !== undefined ? { camera: index('camera') } : {}),
      ...(index('screen') !== undefined ? { screen: index('screen') } : {}),
      ...(index('mic') !== undefined ? { mic: index('mic') } : {}),
      ...(index('screen-audio') !== undefined ? { screenAudio: index('screen-audio') } : {}),
      ...(stageAudio.length ? { stageAudio } : {}),
    };
    for (const s of streams) {
      // The teacher's producer went away (left, replaced the device): the bridge picks a new run.
      s.consumer.on('producerclose', () => this.#log.debug({ source: s.name }, 'producer of a bridge input closed'));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The encoder's last reported speed as a multiple of real time (NaN before its first report). */
  get speed(): number {
    return this.#speed;
  }

  get pid(): number | undefined {
    return this.#ffmpeg?.pid;
  }

  get running(): boolean {
    return !!this.#ffmpeg && !this.#ffmpeg.exited;
  }

  /** The producer ids this run consumes (to tell whether a new set of sources needs a new run). */
  producerIds(): string[] {
    return this.#streams.map((s) => s.consumer.producerId).sort();
  }

  /**
   * Finds the primary video's size with a short-lived ffmpeg reading the same SDP (the encoder's ladder is
   * fixed for the whole class, so it is chosen once, before any segment is written). For a simulcast source
   * that is the size of its top layer: the probe waits a little for it, and otherwise scales what it saw by
   * the layers' known ratios. Null on timeout.
   */
  async probeVideoSize(ffmpegPath: string, timeoutMs: number): Promise<{ width: number; height: number } | null> {
    const primary = this.streams.screen ?? this.streams.camera;
    if (primary === undefined) return null;
    const stream = this.#streams[primary]!;
    await this.#resumeAll();
    const timer = setInterval(() => this.requestKeyFrame(true), START_KEYFRAME_MS);
    this.requestKeyFrame(true);
    await topLayer(stream.consumer, TOP_LAYER_WAIT_MS);
    const probe = new FfmpegProcess(ffmpegPath, [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'info',
      '-protocol_whitelist',
      'file,udp,rtp',
      '-analyzeduration',
      '1000000',
      '-probesize',
      '1000000',
      '-f',
      'sdp',
      '-i',
      this.sdpPaths[primary]!,
      '-t',
      '0.1',
      '-f',
      'null',
      '-',
    ]);
    try {
      return await new Promise((resolve) => {
        const timeout = setTimeout(() => resolve(null), timeoutMs);
        probe.on('inputsize', ({ width, height }) => {
          clearTimeout(timeout);
          const scale = topLayerScale(stream);
          resolve({ width: Math.round(width * scale), height: Math.round(height * scale) });
        });
        probe.once('exit', () => {
          clearTimeout(timeout);
          resolve(null);
        });
      });
    } finally {
      clearInterval(timer);
      probe.kill();
      await probe.exitPromise();
    }
  }

  /**
   * Starts ffmpeg with `args` and keeps asking for key frames until it has decoded its first frames. Returns
   * ffmpeg's `outputPipes` output pipes (file descriptors 3, 4, ...).
   */
  async startEncoder(ffmpegPath: string, args: readonly string[], outputPipes = 0): Promise<Readable[]> {
    if (this.#closed) throw new Error('The bridge run is closed');
    const ffmpeg = new FfmpegProcess(ffmpegPath, args, outputPipes);
    this.#ffmpeg = ffmpeg;
    this.#log.info({ pid: ffmpeg.pid, streams: this.streams }, 'ffmpeg started');
    let started = false;
    ffmpeg.on('progress', (p) => {
      this.#speed = p.speed;
      if (!started && p.frame > 0) {
        started = true;
        this.#scheduleKeyFrames(this.#keyFrameIntervalMs);
      }
    });
    // A decoder that lost packets shows artefacts until the next key frame: ask for one now.
    ffmpeg.on('decodeerror', () => this.requestKeyFrame(false));
    ffmpeg.once('exit', (code, signal) => {
      clearInterval(this.#keyFrameTimer);
      this.emit('exit', { code, signal, expected: this.#stopping, stderr: ffmpeg.stderrTail() });
    });
    await this.#resumeAll();
    this.requestKeyFrame(true);
    this.#scheduleKeyFrames(START_KEYFRAME_MS);
    return ffmpeg.outputs;
  }

  /** Asks every video producer of this run for a key frame (throttled to one a second unless `force`). */
  requestKeyFrame(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastKeyFrameRequest < 1000) return;
    this.#lastKeyFrameRequest = now;
    for (const s of this.#streams) {
      if (s.consumer.kind === 'video' && !s.consumer.closed) s.consumer.requestKeyFrame().catch(() => {});
    }
  }

  /**
   * Lets ffmpeg finish its segment and playlists, then releases the transports and consumers. The inputs
   * are stopped first; with `drainMs` (the end of a class) ffmpeg first works through what it has queued
   * (up to that long); then each input says RTCP BYE, so ffmpeg reaches the end of its input and flushes
   * everything (also when the room already closed and no packet would wake it up). With `abandon` (ffmpeg
   * fell behind) it is interrupted instead: what it queued is dropped, what it encoded is written.
   */
  async close(o: { drainMs?: number; graceMs?: number; abandon?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopping = true;
    clearInterval(this.#keyFrameTimer);
    for (const s of this.#streams) s.transport.close();
    const ffmpeg = this.#ffmpeg;
    if (o.abandon) {
      // ffmpeg stops reading at once (what it queued is dropped) and writes out what its encoders hold.
      await ffmpeg?.stop(o.graceMs ?? 8000);
    } else {
      // A run with a generated input (silence, black) never goes quiet: nothing to wait for there.
      const onlyRtp = (this.streams.camera ?? this.streams.screen) !== undefined && liveAudioStreams(this.streams).length > 0;
      if (ffmpeg && onlyRtp && o.drainMs) await ffmpeg.settled(DRAINED_QUIET_MS, o.drainMs);
      const byes = this.#streams.map((s) => ({ port: s.port, ssrc: s.consumer.rtpParameters.encodings?.[0]?.ssrc ?? 0 }));
      await ffmpeg?.stop(o.graceMs ?? 8000, () => sendRtcpBye(this.#listenIp, byes));
    }
    await Promise.all(this.sdpPaths.map((p) => fs.rm(p, { force: true })));
  }

  #scheduleKeyFrames(everyMs: number): void {
    clearInterval(this.#keyFrameTimer);
    this.#keyFrameTimer = setInterval(() => this.requestKeyFrame(true), everyMs);
    this.#keyFrameTimer.unref();
  }

  async #resumeAll(): Promise<void> {
    await Promise.all(
      this.#streams.map((s) => (s.consumer.paused && !s.consumer.closed ? s.consumer.resume().catch(() => {}) : undefined)),
    );
  }
}

/** How many spatial layers a consumer can forward (a simulcast consumer's scalability mode says "L3T3"). */
function spatialLayers(consumer: types.Consumer): number {
  const match = /^[LS](\d+)/.exec(consumer.rtpParameters.encodings?.[0]?.scalabilityMode ?? '');
  return match ? Number(match[1]) : 1;
}

/** Resolves once the consumer forwards its top spatial layer, or after `maxMs`. */
function topLayer(consumer: types.Consumer, maxMs: number): Promise<void> {
  const top = spatialLayers(consumer) - 1;
  if (top <= 0 || (consumer.currentLayers?.spatialLayer ?? -1) >= top) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      consumer.off('layerschange', onChange);
      resolve();
    };
    const onChange = (layers?: types.ConsumerLayers) => {
      if ((layers?.spatialLayer ?? -1) >= top) done();
    };
    const timer = setTimeout(done, maxMs);
    consumer.on('layerschange', onChange);
  });
}

/**
 * By how much the top layer is larger than the layer the consumer forwards now (1 for a single layer). Each
 * simulcast layer is half the size of the one above it (the browser's default, and the studio's encodings).
 */
function topLayerScale(stream: RunStream): number {
  const layers = spatialLayers(stream.consumer);
  const current = stream.consumer.currentLayers?.spatialLayer;
  if (layers <= 1 || current === undefined || current >= layers - 1) return 1;
  return 2 ** (layers - 1 - current);
}
