// The one definition of Lectern's HLS ladder, and the ffmpeg argument builders that produce it: live (an SDP
// describing the RTP that mediasoup's PlainTransports send) and VOD (an uploaded file). Both decode once,
// scale into every rung and encode H.264 + AAC with key frames on the same timestamps in every rung, so a
// player can switch rungs at any segment boundary.

/** Seconds per segment: short for latency, long enough that x264 keeps its quality at a 1 s GOP. */
export const SEGMENT_SECONDS = 1;
/** Every rung is encoded at this constant frame rate (WebRTC sources are variable). */
export const OUTPUT_FPS = 30;
/** How many segments a live variant playlist lists (the rest stay on disk for the recording). */
export const LIVE_WINDOW_SEGMENTS = 8;
/**
 * Low-Latency HLS parts: ffmpeg closes a fragment once a track has 200 ms in it (and at every key frame), so
 * a part holds at most 6 frames at 30 fps (a segment is 5 parts). PART-TARGET leaves room for one AAC frame
 * (1024 samples at 48 kHz, 21.3 ms) more: a run's first fragment carries the encoder's priming too, and one
 * the muxer cuts on the audio's clock with no video in it is timed by its audio.
 */
export const PART_FRAGMENT_SECONDS = 0.2;
export const PART_TARGET_SECONDS = 0.225;
export const AUDIO_CODEC = 'mp4a.40.2'; // AAC-LC

export interface Rendition {
  /** Directory name and label, e.g. "720p". */
  name: string;
  width: number;
  height: number;
  /** Target video bit rate (bits/s); maxrate is 1.25x, the VBV buffer one second of maxrate. */
  videoBitrate: number;
  audioBitrate: number;
  profile: 'main' | 'baseline';
  /** H.264 level as x264 takes it ("3.1"). */
  level: string;
  /** RFC 6381 codecs string of the video, e.g. "avc1.4d401f". */
  videoCodec: string;
}

export interface SourceSize {
  width: number;
  height: number;
}

/** The standard rungs by height, best first; a ladder is the source's rung and the two below it. */
const STANDARD_RUNGS = [
  { height: 720, videoBitrate: 2_500_000, audioBitrate: 128_000, level: '3.1' },
  { height: 480, videoBitrate: 1_000_000, audioBitrate: 96_000, level: '3.0' },
  { height: 360, videoBitrate: 600_000, audioBitrate: 64_000, level: '3.0' },
  { height: 240, videoBitrate: 300_000, audioBitrate: 48_000, level: '3.0' },
  { height: 180, videoBitrate: 200_000, audioBitrate: 48_000, level: '3.0' },
] as const;

export const RUNGS_PER_LADDER = 3;
const DEFAULT_SOURCE: SourceSize = { width: 1280, height: 720 };

const PROFILE_IDC = { main: 0x4d, baseline: 0x42 } as const;
/** constraint_set flags byte: baseline is sent as Constrained Baseline (set1), main with none. */
const CONSTRAINTS = { main: 0x40, baseline: 0xe0 } as const;

export function h264CodecString(profile: Rendition['profile'], level: string): string {
  const levelIdc = Math.round(Number(level) * 10);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `avc1.${hex(PROFILE_IDC[profile])}${hex(CONSTRAINTS[profile])}${hex(levelIdc)}`;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/**
 * The ladder for a source: 720p/480p/360p for a 720p-or-larger source; for a smaller one the top rung is the
 * source's own size and the two standard heights below it. Widths follow the source's aspect ratio.
 */
export function ladderFor(source: SourceSize = DEFAULT_SOURCE): Rendition[] {
  const aspect = source.width > 0 && source.height > 0 ? source.width / source.height : 16 / 9;
  const topHeight = Math.min(720, even(source.height));
  const rungs: Rendition[] = [];
  const top = STANDARD_RUNGS.find((r) => r.height <= topHeight) ?? STANDARD_RUNGS[STANDARD_RUNGS.length - 1]!;
  // A source between two standard heights keeps its height and takes the bit rate scaled by pixel count.
  const topScale = topHeight / top.height;
  rungs.push(rendition(topHeight, aspect, Math.round(top.videoBitrate * topScale * topScale), top.audioBitrate, top.level));
  for (const r of STANDARD_RUNGS) {
    if (rungs.length === RUNGS_PER_LADDER) break;
    if (r.height < topHeight) rungs.push(rendition(r.height, aspect, r.videoBitrate, r.audioBitrate, r.level));
  }
  return rungs;
}

function rendition(height: number, aspect: number, videoBitrate: number, audioBitrate: number, level: string): Rendition {
  const profile = 'main';
  return {
    name: `${height}p`,
    width: even(height * aspect),
    height,
    videoBitrate,
    audioBitrate,
    profile,
    level,
    videoCodec: h264CodecString(profile, level),
  };
}

/** Peak bandwidth for EXT-X-STREAM-INF: maxrate plus audio plus ~10% MPEG-TS overhead. */
export function peakBandwidth(r: Rendition): number {
  return Math.round((r.videoBitrate * 1.25 + r.audioBitrate) * 1.1);
}

export function averageBandwidth(r: Rendition): number {
  return Math.round((r.videoBitrate + r.audioBitrate) * 1.05);
}

// --- ffmpeg arguments -------------------------------------------------------------------------------------

/**
 * x264 speed/latency trade-off. Live uses superfast: on a shared 2-core box veryfast held only ~1.6x real
 * time for the 3-rung 720p30 ladder (bench/hls.ts), too little headroom next to mediasoup and the API.
 */
export interface EncoderTuning {
  preset: 'ultrafast' | 'superfast' | 'veryfast' | 'faster';
  /** x264 threads per rung; 0 lets x264 decide. */
  threads: number;
}

export const LIVE_TUNING: EncoderTuning = { preset: 'superfast', threads: 2 };
export const VOD_TUNING: EncoderTuning = { preset: 'veryfast', threads: 0 };

/**
 * Which ffmpeg input carries each stream of a live run: every RTP stream is its own input (its own SDP), so
 * ffmpeg reads each socket in its own thread while the encoders work.
 */
export interface LiveStreams {
  camera?: number;
  screen?: number;
  mic?: number;
  screenAudio?: number;
  /** Microphones of students the teacher invited on stage. */
  stageAudio?: number[];
}

/** Every audio stream of a run, in mixing order: the teacher's mic, the shared screen's audio, the stage. */
export function liveAudioStreams(streams: LiveStreams): number[] {
  return [streams.mic, streams.screenAudio, ...(streams.stageAudio ?? [])].filter((s): s is number => s !== undefined);
}

export interface LiveArgsOptions {
  /** One SDP per RTP stream, by input index (LiveStreams says which input is which). */
  sdpPaths: readonly string[];
  streams: LiveStreams;
  /**
   * The wall-clock instant (ms since the epoch) that output time 0 stands for. Every RTP packet is stamped
   * with the time ffmpeg read it, less this: all inputs share one clock (they start at different moments,
   * and RTCP sender reports would come seconds late), and an output time says when its media arrived.
   */
  epochMs: number;
  ladder: readonly Rendition[];
  segmentSeconds?: number;
  tuning?: EncoderTuning;
}

/** File names of one live run inside a rung directory. */
export function runPlaylistName(runId: number): string {
  return `run-${runId}.m3u8`;
}
/** The fragmented MP4 initialisation section of a run (EXT-X-MAP). */
export function runInitName(runId: number): string {
  return `run-${runId}-init.mp4`;
}
export function runSegmentName(runId: number, index: number): string {
  return `run-${runId}-${String(index).padStart(5, '0')}.m4s`;
}
/** Part `part` of segment `index` (served from memory while it is among the newest). */
export function runPartName(runId: number, index: number, part: number): string {
  return `run-${runId}-${String(index).padStart(5, '0')}-p${part}.m4s`;
}

/** The picture of the class: the screen with the camera as a small overlay when sharing, else the camera. */
export function buildVideoFilter(streams: LiveStreams, top: Rendition, epochMs: number): { graph: string[]; output: string } | null {
  const input = (i: number) => `[${i}:0]setpts=PTS-${(epochMs / 1000).toFixed(3)}/TB,`;
  const fit = (w: number, h: number) => `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1`;
  const main = streams.screen ?? streams.camera;
  if (main === undefined) return null;
  const graph: string[] = [];
  if (streams.screen !== undefined && streams.camera !== undefined) {
    const pipH = even(top.height / 4);
    const margin = even(top.height / 40);
    graph.push(`${input(streams.screen)}${fit(top.width, top.height)}[screen]`);
    graph.push(`${input(streams.camera)}scale=-2:${pipH},setsar=1[pip]`);
    // repeatlast keeps the last camera frame when the camera pauses, so the screen keeps flowing.
    graph.push(`[screen][pip]overlay=W-w-${margin}:H-h-${margin}:repeatlast=1:eof_action=pass,fps=${OUTPUT_FPS}[base]`);
  } else {
    graph.push(`${input(main)}${fit(top.width, top.height)},fps=${OUTPUT_FPS}[base]`);
  }
  return { graph, output: 'base' };
}

/** Splits `[base]` into one scaled output per rung: decode once, scale N times. */
function ladderFilter(base: string, ladder: readonly Rendition[]): string[] {
  const labels = ladder.map((_, i) => `s${i}`);
  const graph = [`[${base}]split=${ladder.length}${labels.map((l) => `[${l}]`).join('')}`];
  ladder.forEach((r, i) => {
    graph.push(i === 0 ? `[s0]null[v0]` : `[s${i}]scale=${r.width}:${r.height}:flags=bilinear,setsar=1[v${i}]`);
  });
  return graph;
}

/** H.264 and AAC settings every rung shares; key frames forced on the same timestamps in every rung (segment aligned). */
function codecArgs(segmentSeconds: number, tuning: EncoderTuning, live: boolean): string[] {
  const gop = Math.round(OUTPUT_FPS * segmentSeconds);
  return [
    '-c:v',
    'libx264',
    '-preset',
    tuning.preset,
    ...(live ? ['-tune', 'zerolatency'] : []),
    '-threads',
    String(tuning.threads),
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-force_key_frames',
    `expr:gte(t,n_forced*${segmentSeconds})`,
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-ar',
    '48000',
    '-ac',
    '2',
  ];
}

/** One rung's profile, level and rates; `index` addresses its streams in a multi-rung output (VOD). */
function rungRateArgs(r: Rendition, index?: number): string[] {
  const v = index === undefined ? ':v' : `:v:${index}`;
  const a = index === undefined ? ':a' : `:a:${index}`;
  const maxrate = String(Math.round(r.videoBitrate * 1.25));
  return [
    `-profile${v}`,
    r.profile,
    `-level${v}`,
    r.level,
    `-b${v}`,
    String(r.videoBitrate),
    `-maxrate${v}`,
    maxrate,
    `-bufsize${v}`,
    maxrate,
    `-b${a}`,
    String(r.audioBitrate),
  ];
}

/** What every ffmpeg run of ours starts with: quiet, no stdin, and (`progress`) key=value progress blocks on stdout. */
function ffmpegPreamble(o: { loglevel: 'info' | 'error'; overwrite: boolean; progress: boolean }): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    ...(o.overwrite ? ['-y'] : []),
    '-loglevel',
    o.loglevel,
    ...(o.progress ? ['-nostats', '-progress', 'pipe:1'] : []),
  ];
}

/** Per-rung encoder options for one output holding every rung (VOD). */
function encoderArgs(ladder: readonly Rendition[], segmentSeconds: number, tuning: EncoderTuning, live: boolean): string[] {
  return [...codecArgs(segmentSeconds, tuning, live), ...ladder.flatMap((r, i) => rungRateArgs(r, i))];
}

/** One rung as its own output: its encoders, and fragmented MP4 (a fragment every 200 ms) to a pipe. */
function liveRungOutput(r: Rendition, i: number, segmentSeconds: number, tuning: EncoderTuning, pipeFd: number): string[] {
  return [
    '-map',
    `[v${i}]`,
    '-map',
    `[a${i}]`,
    ...codecArgs(segmentSeconds, tuning, true),
    ...rungRateArgs(r),
    '-f',
    'mp4',
    '-movflags',
    '+frag_keyframe+empty_moov+default_base_moof',
    '-frag_duration',
    String(Math.round(PART_FRAGMENT_SECONDS * 1e6)),
    // Each fragment goes down the pipe as soon as it is closed, not when the buffer fills.
    '-flush_packets',
    '1',
    `pipe:${pipeFd}`,
  ];
}

function varStreamMap(ladder: readonly Rendition[]): string {
  return ladder.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(' ');
}

/** The receive buffer asked for on each RTP socket (the kernel caps it at net.core.rmem_max). */
const RTP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** The first file descriptor of the live outputs' pipes (after stdin, stdout and stderr): rung i writes to 3 + i. */
export const LIVE_PIPE_FD = 3;

/**
 * The audio of the class: the teacher's microphone, mixed with the shared screen's audio and the voices of
 * students on stage when they are there (unnormalised: one speaker at a time keeps its full level).
 */
function audioFilter(streams: LiveStreams, epochMs: number, silenceInput: number | null, count: number): string[] {
  const outs = Array.from({ length: count }, (_, i) => `[a${i}]`).join('');
  const sources = liveAudioStreams(streams);
  if (sources.length === 0) return [`[${silenceInput}:a]asplit=${count}${outs}`];
  const onClock = (i: number) => `[${i}:0]asetpts=PTS-${(epochMs / 1000).toFixed(3)}/TB`;
  const graph = sources.length > 1 ? sources.map((s, i) => `${onClock(s)}[m${i}]`) : [];
  const head =
    sources.length > 1
      ? `${sources.map((_, i) => `[m${i}]`).join('')}amix=inputs=${sources.length}:duration=longest:normalize=0`
      : onClock(sources[0]!);
  // The packets carry the time they were read, which jitters: aresample leaves that alone (the samples play
  // on unstretched: a stretched voice changes pitch) and fills or trims only past 150 ms (the gaps Opus DTX
  // leaves in silence, lost packets), so audio and video stay in step.
  return [...graph, `${head},aresample=async=1:min_hard_comp=0.15,asplit=${count}${outs}`];
}

/**
 * ffmpeg arguments for one live run: RTP described by an SDP in, every rung out as fragmented MP4 on its own
 * pipe (rung i on file descriptor LIVE_PIPE_FD + i), which RunPackager cuts into LL-HLS parts and segments.
 * Progress goes to stdout as key=value blocks.
 */
export function buildLiveArgs(o: LiveArgsOptions): string[] {
  const seg = o.segmentSeconds ?? SEGMENT_SECONDS;
  const tuning = o.tuning ?? LIVE_TUNING;
  const top = o.ladder[0];
  if (!top) throw new Error('The ladder has no rungs');
  const hasAudio = liveAudioStreams(o.streams).length > 0;
  const hasVideo = o.streams.camera !== undefined || o.streams.screen !== undefined;
  if (!hasAudio && !hasVideo) throw new Error('A live run needs at least one media stream');

  const video = new Set([o.streams.camera, o.streams.screen].filter((s) => s !== undefined));
  const inputs = o.sdpPaths.flatMap((sdp, i) => [
    '-protocol_whitelist',
    'file,udp,rtp',
    // Each input is read by its own thread into a queue (packets), not left in the kernel's socket buffer
    // while the encoders work (a full socket buffer drops packets); a larger socket buffer covers a stall.
    '-thread_queue_size',
    '4096',
    '-buffer_size',
    String(RTP_SOCKET_BUFFER_BYTES),
    '-use_wallclock_as_timestamps',
    '1',
    // Start decoding as soon as the first key frame is in; WebRTC packets can arrive out of order.
    '-analyzeduration',
    '1000000',
    '-probesize',
    '1000000',
    '-reorder_queue_size',
    '128',
    '-fflags',
    '+genpts+discardcorrupt',
    // The decoder hands each frame on at once (no frame threads, which hold a frame per thread).
    ...(video.has(i) ? ['-flags', 'low_delay'] : []),
    '-f',
    'sdp',
    '-i',
    sdp,
  ]);
  let next = o.sdpPaths.length;
  let blackInput: number | null = null;
  let silenceInput: number | null = null;
  if (!hasVideo) {
    inputs.push('-re', '-f', 'lavfi', '-i', `color=c=black:s=${top.width}x${top.height}:r=${OUTPUT_FPS}`);
    blackInput = next++;
  }
  if (!hasAudio) {
    inputs.push('-re', '-f', 'lavfi', '-i', 'anullsrc=channel_layout=stereo:sample_rate=48000');
    silenceInput = next;
  }

  const picture = hasVideo ? buildVideoFilter(o.streams, top, o.epochMs)! : { graph: [`[${blackInput}:v]setsar=1[base]`], output: 'base' };
  const graph = [
    ...picture.graph,
    ...ladderFilter(picture.output, o.ladder),
    ...audioFilter(o.streams, o.epochMs, silenceInput, o.ladder.length),
  ];

  return [
    ...ffmpegPreamble({ loglevel: 'info', overwrite: false, progress: true }),
    ...inputs,
    // Timestamps stay as read (less epochMs, in the filters): every input on the same clock.
    '-copyts',
    '-filter_complex',
    graph.join(';'),
    ...o.ladder.flatMap((r, i) => liveRungOutput(r, i, seg, tuning, LIVE_PIPE_FD + i)),
  ];
}

export interface VodArgsOptions {
  input: string;
  outDir: string;
  /** The ladder; by default ladderFor() the source (sourceWidth/sourceHeight, from ffprobe). */
  ladder?: readonly Rendition[];
  sourceWidth?: number;
  sourceHeight?: number;
  /** Whether the input has an audio stream; without one, the rungs carry silence (players expect audio). */
  hasAudio: boolean;
  /**
   * The input's length in seconds (from ffprobe); required without audio: it bounds the added silence, since
   * `-shortest` does not end an endless source inside a filter graph (ffmpeg 5.1 would run forever).
   */
  durationSeconds?: number;
  segmentSeconds?: number;
  tuning?: EncoderTuning;
  /** Encode as the live bridge does (x264 zerolatency): for measuring the live ladder on a file. */
  realtime?: boolean;
}

/**
 * ffmpeg arguments for an uploaded file: the same ladder as VOD HLS (`<outDir>/<rung>/index.m3u8` and
 * `seg-NNNNN.ts`, `<outDir>/master.m3u8` written by ffmpeg at the end; rewrite it with
 * renderMasterPlaylist(ladder) for exact attributes). Progress comes on stdout (`-progress pipe:1`): parse it
 * with FfmpegProgressParser and divide out_time by the input's duration for a percentage.
 */
export function buildVodTranscodeArgs(o: VodArgsOptions): string[] {
  const seg = o.segmentSeconds ?? 2;
  const tuning = o.tuning ?? VOD_TUNING;
  const ladder =
    o.ladder ??
    ladderFor(o.sourceHeight ? { width: o.sourceWidth ?? Math.round((o.sourceHeight * 16) / 9), height: o.sourceHeight } : undefined);
  const top = ladder[0];
  if (!top) throw new Error('The ladder has no rungs');
  const inputs = ['-i', o.input];
  if (!o.hasAudio) {
    if (!(o.durationSeconds && o.durationSeconds > 0)) throw new Error('A silent input needs its duration to bound the added silence');
    inputs.push('-f', 'lavfi', '-t', o.durationSeconds.toFixed(3), '-i', 'anullsrc=channel_layout=stereo:sample_rate=48000');
  }
  const graph = [
    `[0:v:0]scale=${top.width}:${top.height}:force_original_aspect_ratio=decrease,` +
      `pad=${top.width}:${top.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${OUTPUT_FPS}[base]`,
    ...ladderFilter('base', ladder),
    `[${o.hasAudio ? '0:a:0' : '1:a'}]asplit=${ladder.length}${ladder.map((_, i) => `[a${i}]`).join('')}`,
  ];
  const maps: string[] = [];
  ladder.forEach((_, i) => maps.push('-map', `[v${i}]`));
  ladder.forEach((_, i) => maps.push('-map', `[a${i}]`));
  return [
    ...ffmpegPreamble({ loglevel: 'error', overwrite: true, progress: true }),
    ...inputs,
    '-filter_complex',
    graph.join(';'),
    ...maps,
    ...(o.hasAudio ? [] : ['-shortest']),
    ...encoderArgs(ladder, seg, tuning, o.realtime ?? false),
    '-f',
    'hls',
    '-hls_time',
    String(seg),
    '-hls_list_size',
    '0',
    '-hls_playlist_type',
    'vod',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_type',
    'mpegts',
    '-hls_segment_filename',
    `${o.outDir}/%v/seg-%05d.ts`,
    '-master_pl_name',
    'master.m3u8',
    '-var_stream_map',
    varStreamMap(ladder),
    `${o.outDir}/%v/index.m3u8`,
  ];
}

/**
 * ffmpeg arguments for a JPEG thumbnail of a playlist or file at `atSeconds`, at most 640 px wide. It decodes
 * up to there rather than seeking the input: ffmpeg 5.1's HLS reader seeks fragmented MP4 segments wrongly.
 */
export function buildThumbnailArgs(input: string, output: string, atSeconds: number): string[] {
  return [
    ...ffmpegPreamble({ loglevel: 'error', overwrite: true, progress: false }),
    '-i',
    input,
    '-ss',
    atSeconds.toFixed(2),
    '-frames:v',
    '1',
    '-vf',
    "scale='min(640,iw)':-2",
    '-q:v',
    '4',
    output,
  ];
}
