// The HLS bridge of one live class: follows the room's media sources (the teacher's camera, screen, mic and
// screen audio) into one ffmpeg per class that writes the ladder into the class's output (RunOutput, which is
// also its recording). A source joins only once its RTP actually arrives: a producer that exists but carries
// nothing (the teacher's browser never got through) would stall ffmpeg, and a class whose media never flowed
// opens no output at all, so it leaves no recording behind. Each ffmpeg process is a run (BridgeRun); a crash
// restarts it with back-off, a change of sources starts a new run, and every run's files stay, joined by
// discontinuities, for live viewers (`renditions`) and the recording alike. The output may already hold runs
// of an earlier bridge of the same class (the class's one recording): this bridge's runs follow them.
import { AwaitQueue } from 'awaitqueue';
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { BridgeRun, runInputList, type BridgeSource, type RunInputs } from './bridge-run.ts';
import { buildLiveArgs, ladderFor, LIVE_TUNING, SEGMENT_SECONDS, type EncoderTuning, type Rendition } from './ladder.ts';
import type { RenditionSet } from './rendition-set.ts';
import type { RunOutput } from './run-output.ts';
import { RunPackager } from './run-packager.ts';
import { RunRenditions } from './run-renditions.ts';

/** What the bridge needs of a live class's room (ClassroomRoom satisfies it). */
export interface HlsRoom extends EventEmitter<{ sourceadd: [BridgeSource]; sourceremove: [BridgeSource]; close: [] }> {
  readonly classId: string;
  readonly closed: boolean;
  mediaSources(): BridgeSource[];
  /** The router to consume from (the class's router on its least-loaded worker), every current source in it. */
  bridgeRouter(): Promise<types.Router>;
}

export interface HlsBridgeTimings {
  /** First restart delay after ffmpeg dies; doubles up to maxRestartDelayMs. */
  restartDelayMs: number;
  maxRestartDelayMs: number;
  /** Safety-net key frame requests while running (decode errors ask at once). */
  keyFrameIntervalMs: number;
  /** How long to wait for the first video frame to size the ladder. */
  probeTimeoutMs: number;
  /** How often a source that has not carried RTP yet is looked at again. */
  flowPollMs: number;
  /**
   * A part published this long after ffmpeg read its last frame, at two looks in a row without catching up,
   * means ffmpeg has fallen behind the class (a starved machine): the run is replaced by a lighter one.
   */
  maxLagMs: number;
  /** How often the running ffmpeg's lag is looked at. */
  lagCheckMs: number;
}

const DEFAULT_TIMINGS: HlsBridgeTimings = {
  restartDelayMs: 500,
  maxRestartDelayMs: 15_000,
  keyFrameIntervalMs: 10_000,
  probeTimeoutMs: 8_000,
  flowPollMs: 250,
  maxLagMs: 3_000,
  lagCheckMs: 1_000,
};

/** Lighter x264 presets to step down to, one per time ffmpeg falls behind. */
const LIGHTER_PRESETS: readonly EncoderTuning['preset'][] = ['faster', 'veryfast', 'superfast', 'ultrafast'];
/** A run younger than this is still starting (probing, the first key frame): its lag is not judged yet. */
const LAG_GRACE_MS = 5_000;
/** At the end of a run replaced for lagging, how long ffmpeg may take to write what it holds. */
const ABANDON_GRACE_MS = 3_000;

export interface HlsBridgeOptions {
  room: HlsRoom;
  /** Opens the class's output (and so its recording), once: when media first flows. */
  openOutput: () => Promise<RunOutput>;
  ffmpegPath: string;
  log: Logger;
  /** This user's sources make the stream (the teacher); the microphones of others on stage join the mix. */
  publisherId: string;
  listenIp?: string;
  tuning?: EncoderTuning;
  timings?: Partial<HlsBridgeTimings>;
}

type HlsBridgeEvents = {
  runstart: [{ runId: number; pid: number | undefined }];
  runexit: [{ runId: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
  close: [];
};

const HEALTHY_RUN_MS = 30_000;
/** Students on stage whose voices go into the HLS mix (a stage is a few guests, not the class). */
const MAX_STAGE_VOICES = 4;
/** Every this many checks without media, the bridge says what it waits for. */
const WAITING_LOG_EVERY = 40;
/** At the end of a class, how long ffmpeg may take to catch up with media it has queued (a loaded box). */
const END_DRAIN_MS = 15_000;
/** After ffmpeg exits, how long its last fragments may take to reach the disk. */
const PACKAGER_DRAIN_MS = 5_000;

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export class HlsBridge extends EventEmitter<HlsBridgeEvents> {
  readonly classId: string;
  readonly #o: Omit<Required<HlsBridgeOptions>, 'room' | 'log' | 'timings'> & HlsBridgeTimings;
  readonly #room: HlsRoom;
  readonly #log: Logger;
  #output: RunOutput | null = null;
  #renditions: RunRenditions | null = null;
  #nextRunId = 0;
  /** Producers whose RTP has arrived at the router: only these go into a run. */
  readonly #flowing = new Set<string>();
  #flowTimer: NodeJS.Timeout | undefined;
  #flowChecks = 0;
  #run: BridgeRun | null = null;
  /** The newest run's packager: the live edge (parts) that viewers see. */
  #packager: RunPackager | null = null;
  /** The one chain of run changes: starts and stops never interleave. */
  /** The bridge's steps (reconfigure, restart, close) run one at a time, in order. */
  readonly #steps = new AwaitQueue();
  #restartTimer: NodeJS.Timeout | undefined;
  #reconfigureTimer: NodeJS.Timeout | undefined;
  #restartDelay: number;
  #restarts = 0;
  #lagRestarts = 0;
  /** The encoder settings of the next run: the configured ones, lighter after ffmpeg fell behind. */
  #tuning: EncoderTuning;
  #lagTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #onSourcesChanged = () => {
    this.#watchPauses();
    this.#watchFlow();
    this.#scheduleReconfigure();
  };
  readonly #pauseWatches = new Map<types.Producer, () => void>();
  readonly #onRoomClose = () => void this.close();

  constructor(options: HlsBridgeOptions) {
    super();
    this.#room = options.room;
    this.classId = options.room.classId;
    this.#log = options.log.child({ classId: this.classId });
    this.#o = {
      ...DEFAULT_TIMINGS,
      ...options.timings,
      openOutput: options.openOutput,
      ffmpegPath: options.ffmpegPath,
      publisherId: options.publisherId,
      listenIp: options.listenIp ?? '127.0.0.1',
      tuning: options.tuning ?? LIVE_TUNING,
    };
    this.#restartDelay = this.#o.restartDelayMs;
    this.#tuning = this.#o.tuning;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** What live viewers get: the ladder's playlists and segments, once media flowed and the ladder is fixed. */
  get renditions(): RenditionSet | null {
    return this.#renditions;
  }

  /** The ladder, once the first video has been sized (null before). */
  get ladder(): readonly Rendition[] | null {
    return this.#output?.ladder ?? null;
  }

  /** Runs that wrote (or are writing) output, oldest first. */
  get runIds(): readonly number[] {
    return this.#output?.runIds ?? [];
  }

  /** Whether any source's media has reached the bridge (and so the class has output and a recording). */
  get mediaFlowed(): boolean {
    return this.#output !== null;
  }

  /** How many times the bridge looked for media that had not arrived yet (a class stuck waiting shows here). */
  get mediaChecks(): number {
    return this.#flowChecks;
  }

  /** The running ffmpeg's speed as a multiple of real time; null while none runs or before it reports. */
  get ffmpegSpeed(): number | null {
    const speed = this.#run?.running ? this.#run.speed : Number.NaN;
    return Number.isFinite(speed) ? speed : null;
  }

  /** Times ffmpeg fell behind the class and was replaced by a lighter run. */
  get lagRestarts(): number {
    return this.#lagRestarts;
  }

  /** The encoder settings of the running (or next) run. */
  get tuning(): EncoderTuning {
    return this.#tuning;
  }

  /** Times ffmpeg died unexpectedly and was restarted. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Segments written so far for the ladder's top rung, over every run (0 before the ladder is fixed). */
  async segmentsWritten(): Promise<number> {
    const top = this.#output?.ladder?.[0];
    return top ? (await this.#output!.segments(top.name)).length : 0;
  }

  /** Seconds of media written for the ladder's top rung, over every run (what the bench divides by wall time). */
  async mediaSecondsWritten(): Promise<number> {
    const top = this.#output?.ladder?.[0];
    return top ? (await this.#output!.segments(top.name)).reduce((sum, s) => sum + s.duration, 0) : 0;
  }

  /**
   * The top rung's newest parts in the running run: how long after ffmpeg read its last frame each was
   * published (ms), oldest first. Where the bridge's share of a viewer's latency goes.
   */
  partDelays(): readonly number[] {
    const top = this.#output?.ladder?.[0];
    return (top && this.#packager?.rung(top.name)?.partDelays) ?? [];
  }

  /** The running ffmpeg's pid (tests kill it to prove the bridge recovers). */
  get ffmpegPid(): number | undefined {
    return this.#run?.pid;
  }

  /** Starts following the room. The first run begins as soon as a source's media flows. */
  async start(): Promise<void> {
    this.#room.on('sourceadd', this.#onSourcesChanged);
    this.#room.on('sourceremove', this.#onSourcesChanged);
    this.#room.once('close', this.#onRoomClose);
    if (this.#room.closed) return void this.close();
    this.#watchPauses();
    this.#watchFlow();
    this.#scheduleReconfigure(0);
  }

  /** Stops ffmpeg cleanly (the last segment is written) and releases every transport; idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#closed = true;
      clearTimeout(this.#restartTimer);
      clearTimeout(this.#reconfigureTimer);
      clearTimeout(this.#flowTimer);
      clearInterval(this.#lagTimer);
      this.#room.off('sourceadd', this.#onSourcesChanged);
      this.#room.off('sourceremove', this.#onSourcesChanged);
      this.#room.off('close', this.#onRoomClose);
      this.#watchPauses();
      // The end of the class: everything ffmpeg still holds goes into the recording.
      await this.#enqueue(() => this.#stopRun({ drainMs: END_DRAIN_MS }));
      this.#log.info({ runs: this.runIds.length, mediaFlowed: this.mediaFlowed }, 'hls bridge closed');
      this.emit('close');
    })());
  }

  /** The room's sources that belong in the stream: the teacher's, and the microphones of others (on stage). */
  #candidates(): BridgeSource[] {
    return this.#room.mediaSources().filter((s) => !s.producer.closed && (s.userId === this.#o.publisherId || s.source === 'mic'));
  }

  /**
   * The sources this bridge should be consuming now: the newest open producer of each kind of source of the
   * teacher, and the microphones of students on stage. A paused producer sends nothing, and ffmpeg would
   * wait for it (a paused camera overlay would freeze the screen, a muted mic the segments): it is left out
   * until it resumes, and the run goes on with what flows (the screen alone, a black picture, silence). So is
   * a producer whose RTP has not arrived yet.
   */
  #wantedInputs(): RunInputs {
    const inputs: RunInputs = {};
    const stageMics: BridgeSource[] = [];
    for (const s of this.#candidates()) {
      if (s.producer.paused || !this.#flowing.has(s.producer.id)) continue;
      if (s.userId === this.#o.publisherId) inputs[s.source] = s;
      else if (stageMics.length < MAX_STAGE_VOICES) stageMics.push(s);
    }
    if (stageMics.length) inputs.stageMics = stageMics;
    return inputs;
  }

  /**
   * Looks at the sources whose RTP has not arrived yet until it does (the producer's receive statistics
   * count packets), then reconsiders the run. Stops when every source has flowed; a new source restarts it.
   */
  #watchFlow(): void {
    if (this.#closed || this.#flowTimer) return;
    const waiting = () => this.#candidates().filter((s) => !this.#flowing.has(s.producer.id));
    if (waiting().length === 0) return;
    this.#flowTimer = setTimeout(async () => {
      const arrived = await Promise.all(
        waiting().map(async (s) => {
          const stats = await s.producer.getStats().catch(() => []);
          return stats.some((st) => st.packetCount > 0) ? s : null;
        }),
      );
      this.#flowTimer = undefined;
      if (this.#closed) return;
      this.#flowChecks++;
      const now = arrived.filter((s) => s !== null);
      if (!now.length && this.#flowChecks % WAITING_LOG_EVERY === 0)
        this.#log.warn({ waiting: waiting().map((s) => `${s.source}:${s.userId}`) }, 'published sources carry no media yet');
      for (const s of now) {
        this.#flowing.add(s.producer.id);
        this.#log.info({ source: s.source, userId: s.userId, producerId: s.producer.id }, 'media flows');
      }
      if (now.length) this.#scheduleReconfigure();
      this.#watchFlow();
    }, this.#o.flowPollMs);
  }

  /** Follows pause and resume of every source in the room (the room itself only announces add and remove). */
  #watchPauses(): void {
    const current = new Set(this.#room.mediaSources().map((s) => s.producer));
    for (const [producer, off] of this.#pauseWatches) {
      if (this.#closed || !current.has(producer) || producer.closed) {
        off();
        this.#pauseWatches.delete(producer);
      }
    }
    if (this.#closed) return;
    for (const producer of current) {
      if (this.#pauseWatches.has(producer) || producer.closed) continue;
      const changed = () => this.#scheduleReconfigure();
      producer.observer.on('pause', changed);
      producer.observer.on('resume', changed);
      this.#pauseWatches.set(producer, () => {
        producer.observer.off('pause', changed);
        producer.observer.off('resume', changed);
      });
    }
  }

  #scheduleReconfigure(delayMs = 300): void {
    if (this.#closed) return;
    // Debounced: a teacher publishing camera and mic together makes one run, not two.
    clearTimeout(this.#reconfigureTimer);
    this.#reconfigureTimer = setTimeout(() => void this.#enqueue(() => this.#reconfigure()), delayMs);
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    return this.#steps.push(step).catch((err: unknown) => this.#log.error({ err }, 'hls bridge step failed'));
  }

  async #reconfigure(): Promise<void> {
    if (this.#closed || this.#room.closed) return;
    const inputs = this.#wantedInputs();
    const wanted = runInputList(inputs)
      .map((s) => s.input.producer.id)
      .sort();
    const current = this.#run && !this.#run.closed && this.#run.running ? this.#run.producerIds() : null;
    if (current && current.join() === wanted.join()) return;
    await this.#stopRun();
    if (wanted.length === 0) {
      this.#log.info('no media flowing to bridge; waiting');
      return;
    }
    try {
      await this.#startRun(inputs);
    } catch (err) {
      // A producer that closed mid-way, a port taken in the meantime: try again with back-off.
      this.#log.warn({ err }, 'hls run failed to start');
      await this.#stopRun();
      this.#scheduleRestart(null);
    }
  }

  async #startRun(inputs: RunInputs): Promise<void> {
    // The first media of the class: from here on it has output, and a recording.
    const output = (this.#output ??= await this.#o.openOutput());
    // The class's output may hold runs of an earlier bridge (a restart, a lost worker): numbering goes on.
    const runId = Math.max(this.#nextRunId, output.nextRunId);
    this.#nextRunId = runId + 1;
    const run = await BridgeRun.create({
      router: await this.#room.bridgeRouter(),
      runId,
      inputs,
      sdpPath: (stream) => output.sdpPath(runId, stream),
      listenIp: this.#o.listenIp,
      keyFrameIntervalMs: this.#o.keyFrameIntervalMs,
      log: this.#log,
    });
    this.#run = run;
    // An earlier bridge of the class fixed the ladder already: this one encodes into the same renditions.
    if (!output.ladder) await this.#fixLadder(run, output);
    this.#renditions ??= new RunRenditions(output, 'live', () => this.#packager);
    if (this.#closed || run.closed) return void (await run.close());
    await output.beginRun(runId);
    run.on('exit', (info) => this.#onRunExit(run, info));
    const ladder = output.ladder!;
    // Output time 0 of this run: the media's timestamps say when ffmpeg read it, relative to this.
    const epochMs = Date.now();
    const packager = new RunPackager({
      runId,
      outDir: output.dir,
      rungs: ladder.map((r) => r.name),
      segmentSeconds: SEGMENT_SECONDS,
      previousSegments: await Promise.all(ladder.map(async (r) => (await output.segments(r.name)).length)),
      epochMs,
      log: this.#log,
    });
    const pipes = await run.startEncoder(
      this.#o.ffmpegPath,
      buildLiveArgs({
        sdpPaths: run.sdpPaths,
        streams: run.streams,
        ladder,
        segmentSeconds: SEGMENT_SECONDS,
        tuning: this.#tuning,
        epochMs,
      }),
      ladder.length,
    );
    packager.consume(pipes);
    this.#packager = packager;
    this.#watchLag(run, packager, ladder[0]!.name);
    this.emit('runstart', { runId, pid: run.pid });
  }

  /**
   * Looks at how far behind the media it reads the running ffmpeg publishes parts. One that falls behind
   * for good (it cannot keep up: the machine is busy) would hold every viewer further and further from the
   * class; it is replaced by a run with a lighter preset, which starts at the live edge again.
   */
  #watchLag(run: BridgeRun, packager: RunPackager, topRung: string): void {
    clearInterval(this.#lagTimer);
    let previous = 0;
    this.#lagTimer = setInterval(() => {
      if (this.#run !== run || run.closed) return clearInterval(this.#lagTimer);
      const lag = packager.rung(topRung)?.partDelays.at(-1) ?? 0;
      const behind = Date.now() - run.startedAt > LAG_GRACE_MS && lag > this.#o.maxLagMs && previous > this.#o.maxLagMs;
      // Catching up (lag shrinking by half a second a second or more): a passing stall, let it drain.
      const catchingUp = previous - lag >= this.#o.lagCheckMs / 2;
      previous = lag;
      if (!behind || catchingUp) return;
      clearInterval(this.#lagTimer);
      const lighter = LIGHTER_PRESETS[Math.min(LIGHTER_PRESETS.indexOf(this.#tuning.preset) + 1, LIGHTER_PRESETS.length - 1)]!;
      this.#log.warn(
        { runId: run.runId, lagMs: Math.round(lag), preset: this.#tuning.preset, next: lighter },
        'ffmpeg fell behind the class; replacing it',
      );
      this.#tuning = { ...this.#tuning, preset: lighter };
      this.#lagRestarts++;
      void this.#enqueue(async () => {
        if (this.#run !== run) return;
        await this.#stopRun({ abandon: true });
        await this.#reconfigure();
      });
    }, this.#o.lagCheckMs);
    this.#lagTimer.unref();
  }

  /** Sizes the ladder from the first video (top rung = the source when it is below 720p); once per class. */
  async #fixLadder(run: BridgeRun, output: RunOutput): Promise<void> {
    const size = await run.probeVideoSize(this.#o.ffmpegPath, this.#o.probeTimeoutMs);
    const ladder = ladderFor(size ?? undefined);
    this.#log.info({ source: size, ladder: ladder.map((r) => `${r.width}x${r.height}`) }, 'hls ladder fixed');
    await output.fixLadder(ladder);
  }

  /**
   * Stops the running run. `drainMs`: ffmpeg first works through what it has queued (the end of a class);
   * `abandon`: what it has queued is dropped (it fell behind: that media is late for every viewer).
   */
  async #stopRun(o: { drainMs?: number; abandon?: boolean } = {}): Promise<void> {
    const run = this.#run;
    this.#run = null;
    clearInterval(this.#lagTimer);
    await run?.close(o.abandon ? { abandon: true, graceMs: ABANDON_GRACE_MS } : { drainMs: o.drainMs ?? 0 });
    // The run's last segment goes to disk before anything reads the runs again (the next run, the recording).
    const packager = this.#packager;
    if (run && packager?.runId === run.runId) await withTimeout(packager.finished(), PACKAGER_DRAIN_MS);
  }

  #onRunExit(run: BridgeRun, info: { code: number | null; signal: NodeJS.Signals | null; expected: boolean; stderr: string }): void {
    this.emit('runexit', { runId: run.runId, code: info.code, signal: info.signal, expected: info.expected });
    if (info.expected || this.#closed) return;
    if (Date.now() - run.startedAt > HEALTHY_RUN_MS) this.#restartDelay = this.#o.restartDelayMs;
    this.#restarts++;
    this.#log.warn(
      { runId: run.runId, code: info.code, signal: info.signal, stderr: info.stderr.split('\n').slice(-8) },
      'ffmpeg exited; restarting',
    );
    this.#scheduleRestart(run);
  }

  #scheduleRestart(run: BridgeRun | null): void {
    if (this.#closed) return;
    const delay = this.#restartDelay;
    this.#restartDelay = Math.min(this.#restartDelay * 2, this.#o.maxRestartDelayMs);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(
      () =>
        void this.#enqueue(async () => {
          if (run && this.#run === run) await this.#stopRun();
          await this.#reconfigure();
        }),
      delay,
    );
  }
}
