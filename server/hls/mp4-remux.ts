// One MP4 of a recorded rendition: its runs' fragmented MP4 segments copied (no re-encoding) into a single
// MP4 with its index at the front (+faststart: a player starts before the whole file arrived). Each run gets a
// small VOD playlist of its own, and ffmpeg's concat demuxer plays them one after the other: every run's
// timestamps are moved to start where the previous run ended (runs of different ffmpeg processes each start
// their own clock). Chapters, when given, go in as the MP4's chapter list (through an ffmetadata file).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SegmentEntry } from './playlist.ts';
import { TranscodeJob } from '../uploads/transcode-job.ts';

export interface Mp4Chapter {
  title: string;
  atSeconds: number;
}

export interface Mp4RemuxOptions {
  ffmpegPath: string;
  /** The rung directory the runs' segment URIs are relative to. */
  rungDir: string;
  /** Each run's segments as its playlist lists them (runs without segments are skipped). */
  runs: readonly (readonly SegmentEntry[])[];
  /** Where the run playlists and the concat list go while ffmpeg works (made and removed here). */
  workDir: string;
  /** The MP4 to write (replaced only once complete). */
  output: string;
  /** The whole media's length: what progress is measured against. */
  durationSeconds: number;
  /** The replay's chapters (where each begins, in seconds); each lasts until the next, the last to the end. */
  chapters?: readonly Mp4Chapter[];
  /** 0 to 100 as ffmpeg goes (its -progress output time against the duration). */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

/** Writes `output`; rejects with ffmpeg's last error lines (or when aborted), leaving no partial file behind. */
export async function remuxToMp4(o: Mp4RemuxOptions): Promise<void> {
  const runs = o.runs.filter((segments) => segments.length > 0);
  if (!runs.length) throw new Error('No segments to remux');
  await fs.rm(o.workDir, { recursive: true, force: true });
  await fs.mkdir(o.workDir, { recursive: true });
  const partial = `${o.output}.partial.mp4`;
  try {
    const lists = await Promise.all(
      runs.map(async (segments, i) => {
        const file = path.join(o.workDir, `run-${i}.m3u8`);
        await fs.writeFile(file, runPlaylist(o.rungDir, segments));
        return file;
      }),
    );
    const metadataFile = o.chapters?.length ? path.join(o.workDir, 'chapters.ffmeta') : undefined;
    if (metadataFile) await fs.writeFile(metadataFile, chapterMetadata(o.chapters!, o.durationSeconds));
    const concatList = path.join(o.workDir, 'runs.ffconcat');
    await fs.writeFile(concatList, ['ffconcat version 1.0', ...lists.map((f) => `file ${quoteConcatPath(f)}`), ''].join('\n'));
    const job = new TranscodeJob({
      id: path.basename(o.output),
      ffmpegPath: o.ffmpegPath,
      args: buildRemuxArgs({ concatList, output: partial, ...(metadataFile ? { metadataFile } : {}) }),
      durationSeconds: o.durationSeconds,
    });
    if (o.onProgress) job.on('progress', o.onProgress);
    const abort = () => job.close();
    if (o.signal?.aborted) abort();
    o.signal?.addEventListener('abort', abort, { once: true });
    try {
      await job.done;
    } finally {
      o.signal?.removeEventListener('abort', abort);
    }
    await fs.rename(partial, o.output);
  } finally {
    await fs.rm(partial, { force: true });
    await fs.rm(o.workDir, { recursive: true, force: true });
  }
}

/** ffmpeg's arguments: the concat list in, the first video and audio copied, the index moved to the front. */
export function buildRemuxArgs(o: { concatList: string; output: string; metadataFile?: string }): string[] {
  return [
    ...['-hide_banner', '-nostats', '-loglevel', 'error', '-y'],
    // The list and the playlists name files by absolute path (ours, in the data directory).
    ...['-f', 'concat', '-safe', '0', '-i', o.concatList],
    ...(o.metadataFile ? ['-f', 'ffmetadata', '-i', o.metadataFile] : []),
    ...['-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy'],
    ...(o.metadataFile ? ['-map_metadata', '1', '-map_chapters', '1'] : ['-map_metadata', '-1']),
    ...['-movflags', '+faststart', '-f', 'mp4', '-progress', 'pipe:1'],
    o.output,
  ];
}

/**
 * Chapters as an ffmetadata file: each from its start to the next one's (the last to the end), in milliseconds;
 * titles escaped as the format asks (a backslash before = ; # \ and line breaks).
 */
export function chapterMetadata(chapters: readonly Mp4Chapter[], durationSeconds: number): string {
  const endMs = Math.round(durationSeconds * 1000);
  const sorted = [...chapters].sort((a, b) => a.atSeconds - b.atSeconds);
  const lines = [';FFMETADATA1'];
  sorted.forEach((c, i) => {
    const start = Math.round(c.atSeconds * 1000);
    const end = Math.min(endMs, Math.round((sorted[i + 1]?.atSeconds ?? durationSeconds) * 1000));
    // Two chapters at one moment: the later one names it.
    if (end <= start) return;
    lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${start}`, `END=${end}`, `title=${c.title.replace(/[=;#\\\n]/g, (ch) => `\\${ch}`)}`);
  });
  return `${lines.join('\n')}\n`;
}

/** One run as a VOD playlist naming its files by absolute path. */
function runPlaylist(rungDir: string, segments: readonly SegmentEntry[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${Math.max(1, ...segments.map((s) => Math.ceil(s.duration)))}`];
  lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  let map: string | undefined;
  for (const s of segments) {
    if (s.map && s.map !== map) {
      map = s.map;
      lines.push(`#EXT-X-MAP:URI="${path.join(rungDir, s.map)}"`);
    }
    lines.push(`#EXTINF:${s.duration.toFixed(6)},`, path.join(rungDir, s.uri));
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

/** A path quoted for an ffconcat `file` line. */
function quoteConcatPath(file: string): string {
  return `'${file.replaceAll("'", "'\\''")}'`;
}
