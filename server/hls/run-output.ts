// The files a live class's HLS bridge writes, which are also its recording. One directory holds:
//   manifest.json              the ladder and the runs so far (rewritten at every run start)
//   master.m3u8                written once the ladder is fixed
//   <rung>/run-<N>.m3u8        the EVENT playlist of run N (RunPackager writes it), its fragmented MP4
//                              initialisation section run-<N>-init.mp4 and segments run-<N>-00000.m4s, ...
//   run-<N>-<i>.sdp            the RTP description of stream i of run N (while it runs)
// and after finalise(): <rung>/index.m3u8 (VOD: every run joined, ENDLIST) and thumbnail.jpg. Everything is
// read back from the files alone, so a recording a stopped process left behind is finalised the same way, and
// a later bridge of the same class (after a restart or a lost worker) opens it again and adds its runs.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { buildThumbnailArgs, runPlaylistName, type Rendition } from './ladder.ts';
import {
  composeRuns,
  parseMediaPlaylist,
  renderMasterPlaylist,
  renderMediaPlaylist,
  totalDuration,
  type ComposedSegment,
  type SegmentEntry,
} from './playlist.ts';

const RenditionSchema = z.object({
  name: z.string().regex(/^[a-z0-9]+$/),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  videoBitrate: z.number().positive(),
  audioBitrate: z.number().positive(),
  profile: z.enum(['main', 'baseline']),
  level: z.string(),
  videoCodec: z.string(),
});

const ManifestSchema = z.object({
  classId: z.string(),
  ladder: z.array(RenditionSchema),
  runIds: z.array(z.number().int().min(0)),
  /** runId -> when the run's media began (wall clock, ISO): where the class's events fall in the replay. */
  runStartedAt: z.record(z.string(), z.iso.datetime()).default({}),
  /** Recordings whose runs were moved into this one (made before a class had one recording): never twice. */
  joinedFrom: z.array(z.string()).default([]),
  segmentSeconds: z.number().positive(),
  startedAt: z.string(),
});
type Manifest = z.infer<typeof ManifestSchema>;

export const MANIFEST_FILE = 'manifest.json';
export const MASTER_FILE = 'master.m3u8';
export const VOD_PLAYLIST_FILE = 'index.m3u8';
export const THUMBNAIL_FILE = 'thumbnail.jpg';
/** The replay as one MP4 (made from the top rung after finalisation, see replay-downloads.ts). */
export const DOWNLOAD_FILE = 'download.mp4';
/** The files a run leaves in a rung: its segments and their initialisation section (ladder.ts names them). */
export const RUN_SEGMENT = /^run-[0-9]{1,6}-(?:[0-9]{1,8}\.m4s|init\.mp4)$/;

export interface RunTime {
  runId: number;
  startedAt: Date | null;
  durationSeconds: number;
}

export interface FinishedRecording {
  durationSeconds: number;
  sizeBytes: number;
  thumbnail: boolean;
  segments: number;
}

export class RunOutput {
  readonly dir: string;
  #manifest: Manifest;

  private constructor(dir: string, manifest: Manifest) {
    this.dir = dir;
    this.#manifest = manifest;
  }

  /** A new, empty output for a class's bridge. */
  static async create(dir: string, o: { classId: string; segmentSeconds: number }): Promise<RunOutput> {
    await fs.mkdir(dir, { recursive: true });
    const output = new RunOutput(dir, {
      classId: o.classId,
      ladder: [],
      runIds: [],
      runStartedAt: {},
      joinedFrom: [],
      segmentSeconds: o.segmentSeconds,
      startedAt: new Date().toISOString(),
    });
    await output.#writeManifest();
    return output;
  }

  /** The output in `dir` as its manifest describes it; null when there is none (the class never got media). */
  static async open(dir: string): Promise<RunOutput | null> {
    const manifest = parseManifest(await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8').catch(() => null));
    return manifest && new RunOutput(dir, manifest);
  }

  /** The ladder, once fixed (null before the first run sized it). */
  get ladder(): readonly Rendition[] | null {
    return this.#manifest.ladder.length ? this.#manifest.ladder : null;
  }

  /** Runs that wrote (or are writing) output, oldest first. */
  get runIds(): readonly number[] {
    return this.#manifest.runIds;
  }

  /** The id the next run takes: after every run so far, also those of earlier bridges of the class. */
  get nextRunId(): number {
    return Math.max(-1, ...this.#manifest.runIds) + 1;
  }

  rung(name: string): Rendition | undefined {
    return this.#manifest.ladder.find((r) => r.name === name);
  }

  /** The SDP of stream `stream` (ffmpeg's input of that number) of run `runId`. */
  sdpPath(runId: number, stream: number): string {
    return path.join(this.dir, `run-${runId}-${stream}.sdp`);
  }

  /** Fixes the ladder for the whole class (once): the master playlist and the rung directories. */
  async fixLadder(ladder: readonly Rendition[]): Promise<void> {
    if (this.ladder) throw new Error('The ladder is already fixed');
    await Promise.all(ladder.map((r) => fs.mkdir(path.join(this.dir, r.name), { recursive: true })));
    this.#manifest = { ...this.#manifest, ladder: [...ladder] };
    await fs.writeFile(path.join(this.dir, MASTER_FILE), renderMasterPlaylist(ladder));
    await this.#writeManifest();
  }

  /**
   * Records that run `runId` writes output from now on (just before its ffmpeg starts and its media flows:
   * `startedAt` is the wall-clock moment the run's media time 0 stands for).
   */
  async beginRun(runId: number, startedAt = new Date()): Promise<void> {
    if (this.#manifest.runIds.includes(runId)) throw new Error(`Run ${runId} already wrote output`);
    this.#manifest = {
      ...this.#manifest,
      runIds: [...this.#manifest.runIds, runId],
      runStartedAt: { ...this.#manifest.runStartedAt, [runId]: startedAt.toISOString() },
    };
    await this.#writeManifest();
  }

  /**
   * Moves the runs of another output of the class (a recording made before a class had one) after this one's:
   * each run renumbered (its files linked under the new name, its playlist rewritten), then one manifest
   * write that also remembers `sourceId`, so that a second call (after a crash before the source was
   * removed) adds nothing. Both outputs must have the same ladder.
   */
  async adoptRuns(source: RunOutput, sourceId: string): Promise<void> {
    if (this.#manifest.joinedFrom.includes(sourceId)) return;
    const ladder = this.ladder;
    if (!ladder || source.ladder?.map((r) => r.name).join() !== ladder.map((r) => r.name).join())
      throw new Error('Only outputs with the same ladder can be joined');
    const added: number[] = [];
    const starts: Record<string, string> = {};
    let next = this.nextRunId;
    for (const [i, runId] of source.runIds.entries()) {
      const newId = next++;
      const rename = (name: string) => `run-${newId}-${name.startsWith(`run-${runId}-`) ? name.slice(`run-${runId}-`.length) : name}`;
      for (const rung of ladder) {
        const from = path.join(source.dir, rung.name);
        const to = path.join(this.dir, rung.name);
        const text = await fs.readFile(path.join(from, runPlaylistName(runId)), 'utf8').catch(() => '');
        const segments = parseMediaPlaylist(text).segments;
        for (const name of new Set(segments.flatMap((s) => (s.map ? [s.uri, s.map] : [s.uri])))) {
          await fs.rm(path.join(to, rename(name)), { force: true });
          await fs.link(path.join(from, name), path.join(to, rename(name)));
        }
        const renamed = segments.map((s) => ({ ...s, uri: rename(s.uri), ...(s.map ? { map: rename(s.map) } : {}) }));
        await fs.writeFile(path.join(to, runPlaylistName(newId)), renderMediaPlaylist(composeRuns([renamed]), { type: 'event' }));
      }
      added.push(newId);
      // An output older than run start times began with its first run's media.
      const started = source.#manifest.runStartedAt[runId] ?? (i === 0 ? source.#manifest.startedAt : undefined);
      if (started) starts[newId] = started;
    }
    this.#manifest = {
      ...this.#manifest,
      runIds: [...this.#manifest.runIds, ...added],
      runStartedAt: { ...this.#manifest.runStartedAt, ...starts },
      joinedFrom: [...this.#manifest.joinedFrom, sourceId],
    };
    await this.#writeManifest();
  }

  /** Every segment of a rung over all runs, numbered, with a discontinuity where a run starts. */
  async segments(rung: string): Promise<ComposedSegment[]> {
    return composeRuns(await this.runSegments(rung));
  }

  /** The segments of each run in a rung, as their playlists list them (all runs, or all but `exceptRun`). */
  async runSegments(rung: string, exceptRun?: number): Promise<SegmentEntry[][]> {
    return Promise.all(
      this.runIds
        .filter((runId) => runId !== exceptRun)
        .map(async (runId) => {
          // A run that died before its first segment has no playlist: it counts as empty.
          const text = await fs.readFile(path.join(this.dir, rung, runPlaylistName(runId)), 'utf8').catch(() => '');
          return parseMediaPlaylist(text).segments;
        }),
    );
  }

  /** Where a segment of a rung is on disk; null for a name that is not one of ours. */
  segmentPath(rung: string, name: string): string | null {
    return this.rung(rung) && RUN_SEGMENT.test(name) ? path.join(this.dir, rung, name) : null;
  }

  /**
   * Joins the runs of every rung into a VOD playlist (discontinuities between runs, ENDLIST), rewrites the
   * master, removes leftovers of an interrupted segment, measures duration and size and grabs a thumbnail.
   * Throws when nothing playable was recorded.
   */
  async finalise(ffmpegPath: string): Promise<FinishedRecording> {
    const ladder = this.ladder;
    if (!ladder) throw new Error('No manifest: the class never produced media');
    let durationSeconds = 0;
    let segments = 0;
    for (const [i, rung] of ladder.entries()) {
      const rungDir = path.join(this.dir, rung.name);
      // A segment ffmpeg was writing when it was killed never made it into a playlist: drop its temp file.
      for (const f of await fs.readdir(rungDir).catch(() => [] as string[]))
        if (f.endsWith('.tmp')) await fs.rm(path.join(rungDir, f), { force: true });
      const composed = await this.segments(rung.name);
      await fs.writeFile(path.join(rungDir, VOD_PLAYLIST_FILE), renderMediaPlaylist(composed, { type: 'vod' }));
      if (i === 0) {
        durationSeconds = totalDuration(composed);
        segments = composed.length;
      }
    }
    if (segments === 0) throw new Error('The recording has no segments');
    await fs.writeFile(path.join(this.dir, MASTER_FILE), renderMasterPlaylist(ladder));
    let thumbnail: boolean;
    try {
      const top = path.join(this.dir, ladder[0]!.name, VOD_PLAYLIST_FILE);
      // A frame a little into the class (the first seconds are often a black or settling picture).
      await run(ffmpegPath, buildThumbnailArgs(top, path.join(this.dir, THUMBNAIL_FILE), Math.min(durationSeconds * 0.1, 30)), 30_000);
      thumbnail = true;
    } catch {
      thumbnail = false;
    }
    return { durationSeconds, sizeBytes: await dirSize(this.dir), thumbnail, segments };
  }

  async #writeManifest(): Promise<void> {
    const tmp = path.join(this.dir, `${MANIFEST_FILE}.tmp`);
    await fs.writeFile(tmp, JSON.stringify(this.#manifest, null, 2));
    await fs.rename(tmp, path.join(this.dir, MANIFEST_FILE));
  }
}

function parseManifest(text: string | null): Manifest | null {
  if (!text) return null;
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Reads a file of an output by its path in it ('manifest.json', '720p/run-0.m3u8'); null when it is not there. */
export type OutputFileReader = (name: string) => Promise<string | null>;

/**
 * Each run's place on the wall clock and its length in the top rung (what the replay plays), oldest first, and
 * when the output began; wherever its files are (this machine, or media storage once uploaded). null without
 * a manifest. A run's `startedAt` is null in an output written before runs kept their start.
 */
export async function readRunTimes(read: OutputFileReader): Promise<{ createdAt: Date; runs: RunTime[] } | null> {
  const manifest = parseManifest(await read(MANIFEST_FILE));
  if (!manifest) return null;
  const top = manifest.ladder[0];
  const runs = await Promise.all(
    manifest.runIds.map(async (runId) => {
      // A run that died before its first segment has no playlist: it counts as empty.
      const text = top ? await read(`${top.name}/${runPlaylistName(runId)}`) : null;
      const started = manifest.runStartedAt[runId];
      return {
        runId,
        startedAt: started ? new Date(started) : null,
        durationSeconds: totalDuration(parseMediaPlaylist(text ?? '').segments),
      };
    }),
  );
  return { createdAt: new Date(manifest.startedAt), runs };
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await dirSize(p);
    else if (entry.isFile()) total += (await fs.stat(p)).size;
  }
  return total;
}

function run(bin: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs }, (err, _stdout, stderr) =>
      err ? reject(new Error(`${err.message}: ${stderr.slice(-400)}`)) : resolve(),
    );
  });
}
