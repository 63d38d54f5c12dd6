// The HLS bridge of one live class: follows the room's media sources (the teacher's camera, screen, mic and
// screen audio) into one ffmpeg per class that writes the ladder to the class's recording directory. Each
// ffmpeg process is a run (BridgeRun); a crash restarts it with back-off, a change of sources starts a new
// run, and every run's files stay, joined by discontinuities, for live viewers and the recording alike.
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { types } from 'mediasoup';
import type { Logger } from '../log.ts';
import { BridgeRun, runInputList, type BridgeSource, type RunInputs } from './bridge-run.ts';
import {
  buildLiveArgs,
  ladderFor,
  LIVE_TUNING,
  SEGMENT_SECONDS,
  writeMasterPlaylist,
  type EncoderTuning,
  type Rendition,
} from './ladder.ts';
import { writeRecordingManifest, type RecordingManifest } from './recording-files.ts';

/** What the bridge needs of a live class's room (ClassroomRoom satisfies it). */
export interface HlsRoom extends EventEmitter<{ sourceadd: [BridgeSource]; sourceremove: [BridgeSource]; close: [] }> {
  readonly classId: string;
  readonly router: types.Router;
  readonly closed: boolean;
  mediaSources(): BridgeSource[];
}

export interface HlsBridgeOptions {
  room: HlsRoom;
  /** The recording directory: one sub-directory per rung, the manifest, later the VOD playlists. */
  outDir: string;
  ffmpegPath: string;
  log: Logger;
  /** Only this user's sources go into the stream (the teacher); every publisher's when unset. */
  publisherId?: string;
  listenIp?: string;
  tuning?: EncoderTuning;
  segmentSeconds?: number;
  /** First restart delay after ffmpeg dies; doubles up to maxRestartDelayMs. */
  restartDelayMs?: number;
  maxRestartDelayMs?: number;
  /** Safety-net key frame requests while running (decode errors ask at once). */
  keyFrameIntervalMs?: number;
  /** How long to wait for the first video frame to size the ladder. */
  probeTimeoutMs?: number;
}

type HlsBridgeEvents = {
  /** The ladder is fixed (master playlist written). */
  ladder: [Rendition[]];
  runstart: [{ runId: number; pid: number | undefined }];
  runexit: [{ runId: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean }];
  close: [];
};

const HEALTHY_RUN_MS = 30_000;
/** Students on stage whose voices go into the HLS mix (a stage is a few guests, not the class). */
const MAX_STAGE_VOICES = 4;
/** At the end of a class, how long ffmpeg may take to catch up with media it has queued (a loaded box). */
const END_DRAIN_MS = 15_000;

export class HlsBridge extends EventEmitter<HlsBridgeEvents> {
  readonly classId: string;
  readonly outDir: string;
  readonly #o: Required<Omit<HlsBridgeOptions, 'publisherId' | 'room' | 'log'>> & { publisherId: string | undefined };
  readonly #room: HlsRoom;
  readonly #log: Logger;
  #ladder: Rendition[] | null = null;
  readonly #runIds: number[] = [];
  #nextRunId = 0;
  #run: BridgeRun | null = null;
  /** The one chain of run changes: starts and stops never interleave. */
  #chain: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  #reconfigureTimer: NodeJS.Timeout | undefined;
  #restartDelay: number;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #startedAt = new Date();
  readonly #onSourcesChanged = () => {
    this.#watchPauses();
    this.#scheduleReconfigure();
  };
  readonly #pauseWatches = new Map<types.Producer, () => void>();
  readonly #onRoomClose = () => void this.close();

  constructor(options: HlsBridgeOptions) {
    super();
    this.#room = options.room;
    this.classId = options.room.classId;
    this.outDir = options.outDir;
    this.#log = options.log.child({ classId: this.classId });
    this.#o = {
      outDir: options.outDir,
      ffmpegPath: options.ffmpegPath,
      publisherId: options.publisherId,
      listenIp: options.listenIp ?? '127.0.0.1',
      tuning: options.tuning ?? LIVE_TUNING,
      segmentSeconds: options.segmentSeconds ?? SEGMENT_SECONDS,
      restartDelayMs: options.restartDelayMs ?? 500,
      maxRestartDelayMs: options.maxRestartDelayMs ?? 15_000,
      keyFrameIntervalMs: options.keyFrameIntervalMs ?? 10_000,
      probeTimeoutMs: options.probeTimeoutMs ?? 8_000,
    };
    this.#restartDelay = this.#o.restartDelayMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The ladder, once the first video has been sized (null before). */
  get ladder(): Rendition[] | null {
    return this.#ladder;
  }

  /** Runs that wrote (or are writing) output, oldest first. */
  get runIds(): readonly number[] {
    return this.#runIds;
  }

  /** The running ffmpeg's pid (tests kill it to prove the bridge recovers). */
  get ffmpegPid(): number | undefined {
    return this.#run?.pid;
  }

  /** Starts following the room. The first run begins as soon as the room has a source. */
  async start(): Promise<void> {
    await fs.mkdir(this.outDir, { recursive: true });
    this.#room.on('sourceadd', this.#onSourcesChanged);
    this.#room.on('sourceremove', this.#onSourcesChanged);
    this.#room.once('close', this.#onRoomClose);
    if (this.#room.closed) return void this.close();
    this.#watchPauses();
    this.#scheduleReconfigure(0);
  }

  /** Test and operations hook: kill ffmpeg as a crash would. */
  killEncoder(): void {
    this.#run?.killEncoder();
  }

  /** Stops ffmpeg cleanly (the last segment is written) and releases every transport; idempotent. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      this.#closed = true;
      clearTimeout(this.#restartTimer);
      clearTimeout(this.#reconfigureTimer);
      this.#room.off('sourceadd', this.#onSourcesChanged);
      this.#room.off('sourceremove', this.#onSourcesChanged);
      this.#room.off('close', this.#onRoomClose);
      this.#watchPauses();
      // The end of the class: everything ffmpeg still holds goes into the recording.
      await this.#enqueue(() => this.#stopRun(END_DRAIN_MS));
      this.#log.info({ runs: this.#runIds.length }, 'hls bridge closed');
      this.emit('close');
    })());
  }

  /**
   * The sources this bridge should be consuming now: the newest open producer of each kind of source of the
   * teacher, and the microphones of students on stage. A paused producer sends nothing, and ffmpeg would
   * wait for it (a paused camera overlay would freeze the screen, a muted mic the segments): it is left out
   * until it resumes, and the run goes on with what flows (the screen alone, a black picture, silence).
   */
  #wantedInputs(): RunInputs {
    const inputs: RunInputs = {};
    const stageMics: BridgeSource[] = [];
    for (const s of this.#room.mediaSources()) {
      if (s.producer.closed || s.producer.paused) continue;
      if (!this.#o.publisherId || s.userId === this.#o.publisherId) inputs[s.source] = s;
      else if (s.source === 'mic' && stageMics.length < MAX_STAGE_VOICES) stageMics.push(s);
    }
    if (stageMics.length) inputs.stageMics = stageMics;
    return inputs;
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
    const next = this.#chain.then(step).catch((err: unknown) => this.#log.error({ err }, 'hls bridge step failed'));
    this.#chain = next;
    return next;
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
      this.#log.info('no sources to bridge; waiting');
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
    const runId = this.#nextRunId++;
    const run = await BridgeRun.create({
      router: this.#room.router,
      runId,
      inputs,
      workDir: this.outDir,
      listenIp: this.#o.listenIp,
      keyFrameIntervalMs: this.#o.keyFrameIntervalMs,
      log: this.#log,
    });
    this.#run = run;
    if (!this.#ladder) await this.#fixLadder(run);
    if (this.#closed || run.closed) return void (await run.close());
    const ladder = this.#ladder!;
    await Promise.all(ladder.map((r) => fs.mkdir(path.join(this.outDir, r.name), { recursive: true })));
    this.#runIds.push(runId);
    await this.#writeManifest();
    run.on('exit', (info) => this.#onRunExit(run, info));
    await run.startEncoder(
      this.#o.ffmpegPath,
      buildLiveArgs({
        sdpPath: run.sdpPath,
        streams: run.streams,
        ladder,
        outDir: this.outDir,
        runId,
        segmentSeconds: this.#o.segmentSeconds,
        tuning: this.#o.tuning,
      }),
    );
    this.emit('runstart', { runId, pid: run.pid });
  }

  /** Sizes the ladder from the first video (top rung = the source when it is below 720p); once per class. */
  async #fixLadder(run: BridgeRun): Promise<void> {
    const size = await run.probeVideoSize(this.#o.ffmpegPath, this.#o.probeTimeoutMs);
    this.#ladder = ladderFor(size ?? undefined);
    this.#log.info({ source: size, ladder: this.#ladder.map((r) => `${r.width}x${r.height}`) }, 'hls ladder fixed');
    await fs.writeFile(path.join(this.outDir, 'master.m3u8'), writeMasterPlaylist(this.#ladder));
    this.emit('ladder', this.#ladder);
  }

  async #writeManifest(): Promise<void> {
    const manifest: RecordingManifest = {
      classId: this.classId,
      ladder: this.#ladder ?? [],
      runIds: [...this.#runIds],
      segmentSeconds: this.#o.segmentSeconds,
      startedAt: this.#startedAt.toISOString(),
    };
    await writeRecordingManifest(this.outDir, manifest);
  }

  async #stopRun(drainMs = 0): Promise<void> {
    const run = this.#run;
    this.#run = null;
    await run?.close({ drainMs });
  }

  #onRunExit(run: BridgeRun, info: { code: number | null; signal: NodeJS.Signals | null; expected: boolean; stderr: string }): void {
    this.emit('runexit', { runId: run.runId, code: info.code, signal: info.signal, expected: info.expected });
    if (info.expected || this.#closed) return;
    if (Date.now() - run.startedAt > HEALTHY_RUN_MS) this.#restartDelay = this.#o.restartDelayMs;
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
