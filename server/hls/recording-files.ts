// A recording on disk: `<dataDir>/recordings/<recordingId>/` holds manifest.json (ladder and runs, written
// by the bridge at every run start), master.m3u8, one directory per rung with each run's EVENT playlist and
// segments, and after finalising: `<rung>/index.m3u8` (VOD with ENDLIST) and thumbnail.jpg. Finalising
// works from the files alone, so a recording interrupted by a server restart is finalised the same way.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { buildThumbnailArgs, writeMasterPlaylist, type Rendition } from './ladder.ts';
import { composeRuns, renderMediaPlaylist, totalDuration } from './playlist.ts';

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

export const RecordingManifestSchema = z.object({
  classId: z.string(),
  ladder: z.array(RenditionSchema),
  runIds: z.array(z.number().int().min(0)),
  segmentSeconds: z.number().positive(),
  startedAt: z.string(),
});
export type RecordingManifest = z.infer<typeof RecordingManifestSchema>;

export const MANIFEST_FILE = 'manifest.json';
export const MASTER_FILE = 'master.m3u8';
export const VOD_PLAYLIST_FILE = 'index.m3u8';
export const THUMBNAIL_FILE = 'thumbnail.jpg';

export function recordingDir(dataDir: string, recordingId: string): string {
  return path.join(dataDir, 'recordings', recordingId);
}

export async function writeRecordingManifest(dir: string, manifest: RecordingManifest): Promise<void> {
  const tmp = path.join(dir, `${MANIFEST_FILE}.tmp`);
  await fs.writeFile(tmp, JSON.stringify(manifest, null, 2));
  await fs.rename(tmp, path.join(dir, MANIFEST_FILE));
}

export async function readRecordingManifest(dir: string): Promise<RecordingManifest | null> {
  const text = await fs.readFile(path.join(dir, MANIFEST_FILE), 'utf8').catch(() => null);
  if (!text) return null;
  const parsed = RecordingManifestSchema.safeParse(JSON.parse(text));
  return parsed.success ? (parsed.data as RecordingManifest & { ladder: Rendition[] }) : null;
}

export interface FinalisedRecording {
  durationSeconds: number;
  sizeBytes: number;
  thumbnail: boolean;
  segments: number;
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

/**
 * Joins the runs of every rung into a VOD playlist (discontinuities between runs, ENDLIST), rewrites the
 * master, removes leftovers of an interrupted segment, measures duration and size and grabs a thumbnail.
 * Throws when nothing playable was recorded.
 */
export async function finaliseRecordingFiles(dir: string, ffmpegPath: string): Promise<FinalisedRecording> {
  const manifest = await readRecordingManifest(dir);
  if (!manifest || manifest.ladder.length === 0) throw new Error('No manifest: the class never produced media');
  let durationSeconds = 0;
  let segments = 0;
  const ladder = manifest.ladder as Rendition[];
  for (const [i, rung] of ladder.entries()) {
    const rungDir = path.join(dir, rung.name);
    // A segment ffmpeg was writing when it was killed never made it into a playlist: drop its temp file.
    for (const f of await fs.readdir(rungDir).catch(() => [] as string[]))
      if (f.endsWith('.tmp')) await fs.rm(path.join(rungDir, f), { force: true });
    const composed = await composeRuns(rungDir, manifest.runIds);
    await fs.writeFile(path.join(rungDir, VOD_PLAYLIST_FILE), renderMediaPlaylist(composed, { type: 'vod' }));
    if (i === 0) {
      durationSeconds = totalDuration(composed);
      segments = composed.length;
    }
  }
  if (segments === 0) throw new Error('The recording has no segments');
  await fs.writeFile(path.join(dir, MASTER_FILE), writeMasterPlaylist(ladder));
  let thumbnail = false;
  try {
    const top = path.join(dir, ladder[0]!.name, VOD_PLAYLIST_FILE);
    // A frame a little into the class (the first seconds are often a black or settling picture).
    await run(ffmpegPath, buildThumbnailArgs(top, path.join(dir, THUMBNAIL_FILE), Math.min(durationSeconds * 0.1, 30)), 30_000);
    thumbnail = true;
  } catch {
    thumbnail = false;
  }
  return { durationSeconds, sizeBytes: await dirSize(dir), thumbnail, segments };
}
