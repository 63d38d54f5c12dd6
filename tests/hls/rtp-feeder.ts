// Real media into a real mediasoup Router, without a browser: ffmpeg encodes a test pattern (VP8) and a tone
// (Opus) and sends them as RTP to PlainTransports (comedia) whose Producers then look like a teacher's. A
// small room object offers them to the HLS bridge the way the SFU's ClassroomRoom does.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { BridgeSource, BridgeSourceName } from '../../server/hls/bridge-run.ts';
import type { HlsRoom } from '../../server/hls/hls-bridge.ts';

export const TEST_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

export interface FeedOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** lavfi video source; default a moving test pattern. */
  pattern?: 'testsrc2' | 'smptebars' | 'rawpipe';
  audio?: boolean;
  /** The tone's frequency (Hz); 440 unless told. */
  toneHz?: number;
  /** For 'rawpipe': frames are written by the caller to stdin as yuv420p. */
}

/** One ffmpeg sending a video (and optionally audio) stream into producers on `router`. */
export class RtpFeed {
  readonly video: types.Producer;
  readonly audio: types.Producer | undefined;
  readonly process: ChildProcess;
  readonly #transports: types.PlainTransport[];

  static async start(router: types.Router, o: FeedOptions = {}): Promise<RtpFeed> {
    const width = o.width ?? 1280;
    const height = o.height ?? 720;
    const fps = o.fps ?? 30;
    const plain = () => router.createPlainTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' }, rtcpMux: false, comedia: true });
    const videoTransport = await plain();
    const audioTransport = o.audio === false ? undefined : await plain();
    const videoSsrc = 11110000 + Math.floor(Math.random() * 9999);
    const audioSsrc = 22220000 + Math.floor(Math.random() * 9999);
    const video = await videoTransport.produce({
      kind: 'video',
      rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: videoSsrc }] },
      appData: { source: 'camera' },
    });
    const audio = audioTransport
      ? await audioTransport.produce({
          kind: 'audio',
          rtpParameters: {
            codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { 'sprop-stereo': 1 } }],
            encodings: [{ ssrc: audioSsrc }],
          },
          appData: { source: 'mic' },
        })
      : undefined;
    const rtp = (t: types.PlainTransport) => `rtp://127.0.0.1:${t.tuple.localPort}?rtcpport=${t.rtcpTuple!.localPort}&pkt_size=1200`;
    const videoIn =
      o.pattern === 'rawpipe'
        ? [
            '-f',
            'rawvideo',
            '-pix_fmt',
            'yuv420p',
            '-s',
            `${width}x${height}`,
            '-framerate',
            String(fps),
            '-use_wallclock_as_timestamps',
            '1',
            '-i',
            'pipe:0',
          ]
        : ['-re', '-f', 'lavfi', '-i', `${o.pattern ?? 'testsrc2'}=size=${width}x${height}:rate=${fps}`];
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      ...videoIn,
      ...(audioTransport ? ['-re', '-f', 'lavfi', '-i', `sine=frequency=${o.toneHz ?? 440}:sample_rate=48000`] : []),
      '-map',
      '0:v',
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '1500k',
      '-g',
      String(fps),
      '-keyint_min',
      String(fps),
      '-error-resilient',
      '1',
      '-ssrc',
      String(videoSsrc),
      '-payload_type',
      '101',
      '-f',
      'rtp',
      rtp(videoTransport),
      ...(audioTransport
        ? [
            '-map',
            '1:a',
            '-c:a',
            'libopus',
            '-ac',
            '2',
            '-b:a',
            '64k',
            '-ssrc',
            String(audioSsrc),
            '-payload_type',
            '100',
            '-f',
            'rtp',
            rtp(audioTransport),
          ]
        : []),
    ];
    const child = spawn('ffmpeg', args, { stdio: [o.pattern === 'rawpipe' ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    child.stderr!.resume();
    return new RtpFeed(video, audio, child, [videoTransport, ...(audioTransport ? [audioTransport] : [])]);
  }

  private constructor(video: types.Producer, audio: types.Producer | undefined, process: ChildProcess, transports: types.PlainTransport[]) {
    this.video = video;
    this.audio = audio;
    this.process = process;
    this.#transports = transports;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      const exited = new Promise((r) => this.process.once('exit', r));
      this.process.kill('SIGKILL');
      await exited;
    }
    for (const t of this.#transports) t.close();
  }
}

/** A minimal live-class room over a Router: what HlsBridge needs, fed by RtpFeeds. */
export class TestRoom extends EventEmitter<{ sourceadd: [BridgeSource]; sourceremove: [BridgeSource]; close: [] }> implements HlsRoom {
  readonly classId: string;
  readonly router: types.Router;
  readonly #sources = new Map<string, BridgeSource>();
  #closed = false;

  constructor(classId: string, router: types.Router) {
    super();
    this.classId = classId;
    this.router = router;
  }

  get closed(): boolean {
    return this.#closed;
  }

  mediaSources(): BridgeSource[] {
    return [...this.#sources.values()];
  }

  add(source: BridgeSourceName, producer: types.Producer, userId = 'teacher'): void {
    const s: BridgeSource = { source, kind: producer.kind, producer, userId };
    this.#sources.set(producer.id, s);
    producer.observer.once('close', () => {
      this.#sources.delete(producer.id);
      if (!this.#closed) this.emit('sourceremove', s);
    });
    this.emit('sourceadd', s);
  }

  addFeed(feed: RtpFeed, userId = 'teacher'): void {
    this.add('camera', feed.video, userId);
    if (feed.audio) this.add('mic', feed.audio, userId);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.router.close();
    this.emit('close');
  }
}
