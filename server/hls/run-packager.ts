// Low-Latency HLS packaging of one live run: ffmpeg writes each rung as fragmented MP4 to a pipe (a fragment
// every 200 ms, and one at every key frame); for each rung a RungPackager makes every fragment a part (kept
// in memory for the newest segments), starts a segment at each key-frame part once the segment so far is
// long enough, and writes each finished segment (its parts joined) and the run's EVENT playlist to the rung's
// directory: what RunOutput reads for the live window's older segments and for the recording. Players blocked
// on a part that does not exist yet wait on `change` (see RunRenditions).
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../log.ts';
import { OUTPUT_FPS, runInitName, runPartName, runPlaylistName, runSegmentName } from './ladder.ts';
import { Mp4FragmentReader, type Mp4Fragment, type Mp4Init } from './mp4-fragments.ts';
import { composeRuns, renderMediaPlaylist, type SegmentEntry } from './playlist.ts';

/** How many of the newest finished segments keep their parts (listed as EXT-X-PART, served from memory). */
export const PART_SEGMENTS_KEPT = 3;

export interface PackagedPart {
  name: string;
  duration: number;
  independent: boolean;
  /** It carries video (or the stream has none). */
  hasVideo: boolean;
  data: Uint8Array;
}

export interface PackagedSegment extends SegmentEntry {
  /** The parts it was made of, while it is among the newest (empty afterwards). */
  parts: PackagedPart[];
}

/** Where a rung's live edge is, run-local: the newest part is `part` of segment `segment`. */
export interface PartPosition {
  segment: number;
  part: number;
}

export interface RungPackagerOptions {
  rungDir: string;
  runId: number;
  /** Segments earlier runs wrote in this rung: the media sequence number of this run's first segment. */
  previousSegments: number;
  /** A segment ends at the first key frame after this long. */
  segmentSeconds: number;
  /** The wall-clock instant (ms since the epoch) that the run's media time 0 stands for (see buildLiveArgs). */
  epochMs?: number;
  log: Logger;
}

/** How many of the newest parts' delays a rung keeps (a minute and more of parts). */
const PART_DELAYS_KEPT = 600;

export class RungPackager extends EventEmitter<{ change: [] }> {
  readonly runId: number;
  readonly initName: string;
  /** The media sequence number of this run's first segment. */
  readonly firstSequence: number;
  readonly #o: RungPackagerOptions;
  readonly #reader = new Mp4FragmentReader();
  readonly #segments: PackagedSegment[] = [];
  /** The segment being written: its parts so far. */
  #current: PackagedPart[] = [];
  readonly #partDelays: number[] = [];
  #chain: Promise<void> = Promise.resolve();
  #ended = false;
  #failed = false;
  #resolveEnded!: () => void;
  readonly #endedPromise = new Promise<void>((resolve) => (this.#resolveEnded = resolve));

  constructor(options: RungPackagerOptions) {
    super();
    this.setMaxListeners(0);
    this.#o = options;
    this.runId = options.runId;
    this.firstSequence = options.previousSegments;
    this.initName = runInitName(options.runId);
  }

  /** Reads ffmpeg's fragmented MP4 from `stream` until it ends; finished() resolves once all of it is on disk. */
  consume(stream: Readable): void {
    stream.on('data', (chunk: Buffer) => {
      if (this.#failed) return;
      let items: ReturnType<Mp4FragmentReader['push']>;
      try {
        items = this.#reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (err) {
        this.#failed = true;
        this.#o.log.error({ err, runId: this.runId }, 'fragmented MP4 from ffmpeg unreadable');
        return;
      }
      for (const item of items) this.#enqueue(() => ('init' in item ? this.#onInit(item.init) : this.#onFragment(item.fragment)));
    });
    stream.once('close', () => this.#enqueue(() => this.#end()));
    stream.on('error', () => {});
  }

  /** Resolves once the stream ended and everything it carried is written. */
  finished(): Promise<void> {
    return this.#endedPromise;
  }

  /** The output has ended (ffmpeg exited): no part will come any more. */
  get ended(): boolean {
    return this.#ended;
  }

  get hasInit(): boolean {
    return this.#reader.init !== null;
  }

  /** Finished segments of this run, oldest first. */
  get segments(): readonly PackagedSegment[] {
    return this.#segments;
  }

  /**
   * For the newest parts, oldest first: ms from the moment ffmpeg read the part's last frame (its media end,
   * on the run's wall clock) to the moment the part was published. Empty without epochMs.
   */
  get partDelays(): readonly number[] {
    return this.#partDelays;
  }

  /** Parts of the segment being written. */
  get currentParts(): readonly PackagedPart[] {
    return this.#current;
  }

  /** The newest part (null before the first). */
  get position(): PartPosition | null {
    if (this.#current.length) return { segment: this.#segments.length, part: this.#current.length - 1 };
    const last = this.#segments.at(-1);
    return last ? { segment: this.#segments.length - 1, part: Math.max(0, last.parts.length - 1) } : null;
  }

  /** The name of the part that comes next (EXT-X-PRELOAD-HINT). */
  nextPartName(): string {
    return runPartName(this.runId, this.#segments.length, this.#current.length);
  }

  /** A part still held in memory, by name. */
  part(name: string): PackagedPart | null {
    for (const p of this.#current) if (p.name === name) return p;
    for (let i = this.#segments.length - 1; i >= Math.max(0, this.#segments.length - PART_SEGMENTS_KEPT); i--)
      for (const p of this.#segments[i]!.parts) if (p.name === name) return p;
    return null;
  }

  #enqueue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(step).catch((err: unknown) => {
      this.#o.log.error({ err, runId: this.runId }, 'packaging a fragment failed');
    });
  }

  async #onInit(init: Mp4Init): Promise<void> {
    await writeAtomically(path.join(this.#o.rungDir, this.initName), init.data);
  }

  async #onFragment(f: Mp4Fragment): Promise<void> {
    if (this.#current.length === 0 && !f.independent && this.#segments.length === 0) return; // nothing to decode from yet
    // A key frame earlier than expected still starts a segment: every segment starts with one.
    if (f.independent && this.#current.length) await this.#finishSegment();
    this.#current.push({
      name: runPartName(this.runId, this.#segments.length, this.#current.length),
      duration: f.durationSeconds,
      independent: f.independent,
      hasVideo: f.hasVideo,
      data: f.data,
    });
    // Key frames come every segmentSeconds (a GOP of whole frames): once the segment is that long (less
    // half a frame for rounding) the next fragment starts with the next key frame, so the segment is complete
    // now, and listed whole at once for players without parts. Any shorter, and the next fragment may still
    // belong to it (the muxer cuts fragments on the audio's clock too, so they do not end on round times).
    const soFar = this.#current.reduce((sum, p) => sum + p.duration, 0);
    if (soFar >= this.#o.segmentSeconds - 0.5 / OUTPUT_FPS) await this.#finishSegment();
    if (this.#o.epochMs !== undefined) {
      this.#partDelays.push(Date.now() - (this.#o.epochMs + (f.startSeconds + f.durationSeconds) * 1000));
      if (this.#partDelays.length > PART_DELAYS_KEPT) this.#partDelays.shift();
    }
    this.emit('change');
  }

  async #finishSegment(): Promise<void> {
    const parts = this.#current;
    if (!parts.length) return;
    const name = runSegmentName(this.runId, this.#segments.length);
    await writeAtomically(path.join(this.#o.rungDir, name), joinParts(parts));
    const segment: PackagedSegment = {
      uri: name,
      duration: parts.reduce((sum, p) => sum + p.duration, 0),
      map: this.initName,
      parts,
    };
    const playlist = renderMediaPlaylist(composeRuns([[...this.#segments, segment]]), { type: 'event' });
    await writeAtomically(path.join(this.#o.rungDir, runPlaylistName(this.runId)), playlist);
    this.#segments.push(segment);
    this.#current = [];
    // Parts of older segments are not listed any more: their memory goes.
    const old = this.#segments.length - 1 - PART_SEGMENTS_KEPT;
    if (old >= 0) this.#segments[old]!.parts = [];
  }

  async #end(): Promise<void> {
    if (this.#ended) return;
    try {
      // What the muxer flushes after the video ended (the last audio) is not a segment of its own: a segment
      // without a picture would end the recording on a frame no player can show.
      while (this.#current.length && !this.#current.at(-1)!.hasVideo) this.#current.pop();
      await this.#finishSegment();
    } finally {
      // Even when the last write failed, no part comes any more: waiters must hear it.
      this.#ended = true;
      this.#resolveEnded();
      this.emit('change');
    }
  }
}

/** The rungs of one run: one RungPackager per ffmpeg output pipe, in ladder order. */
export class RunPackager {
  readonly runId: number;
  readonly #rungs: Map<string, RungPackager>;

  constructor(o: {
    runId: number;
    outDir: string;
    rungs: readonly string[];
    /** Per rung, how many segments earlier runs wrote. */
    previousSegments: readonly number[];
    segmentSeconds: number;
    /** The wall-clock instant the run's media time 0 stands for (see buildLiveArgs). */
    epochMs?: number;
    log: Logger;
  }) {
    this.runId = o.runId;
    this.#rungs = new Map(
      o.rungs.map((name, i) => [
        name,
        new RungPackager({
          rungDir: path.join(o.outDir, name),
          runId: o.runId,
          previousSegments: o.previousSegments[i] ?? 0,
          segmentSeconds: o.segmentSeconds,
          ...(o.epochMs !== undefined ? { epochMs: o.epochMs } : {}),
          log: o.log,
        }),
      ]),
    );
  }

  /** Connects ffmpeg's output pipes, in ladder order. */
  consume(streams: readonly Readable[]): void {
    [...this.#rungs.values()].forEach((rung, i) => {
      const stream = streams[i];
      if (stream) rung.consume(stream);
    });
  }

  rung(name: string): RungPackager | undefined {
    return this.#rungs.get(name);
  }

  get rungs(): ReadonlyMap<string, RungPackager> {
    return this.#rungs;
  }

  /** Resolves once every rung has written what it read. */
  async finished(): Promise<void> {
    await Promise.all([...this.#rungs.values()].map((r) => r.finished()));
  }
}

function joinParts(parts: readonly PackagedPart[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.data.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.data.byteLength;
  }
  return out;
}

async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}
