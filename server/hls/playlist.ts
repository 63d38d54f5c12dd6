// Media playlists: ffmpeg writes one EVENT playlist per rung per run (a restart is a new run); these
// functions read them and put the runs together, with EXT-X-DISCONTINUITY where one run ends and the next
// begins: the whole of it for the recording (VOD, ENDLIST), the last few segments for live viewers.
import fs from 'node:fs/promises';
import path from 'node:path';
import { runPlaylistName } from './ladder.ts';

export interface Segment {
  uri: string;
  duration: number;
}

export interface ParsedPlaylist {
  targetDuration: number;
  segments: Segment[];
  ended: boolean;
}

export interface ComposedSegment extends Segment {
  /** Global index over all runs (what EXT-X-MEDIA-SEQUENCE counts). */
  sequence: number;
  /** The first segment of a run after an earlier one: a discontinuity precedes it. */
  discontinuity: boolean;
}

export function parseMediaPlaylist(text: string): ParsedPlaylist {
  const segments: Segment[] = [];
  let targetDuration = 0;
  let ended = false;
  let pending: number | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDuration = Number(line.slice(22)) || 0;
    else if (line.startsWith('#EXTINF:')) pending = Number.parseFloat(line.slice(8));
    else if (line === '#EXT-X-ENDLIST') ended = true;
    else if (!line.startsWith('#') && pending !== null) {
      segments.push({ uri: line, duration: Number.isFinite(pending) ? pending : 0 });
      pending = null;
    }
  }
  return { targetDuration, segments, ended };
}

/** Reads the run playlists of one rung (missing runs count as empty) and numbers their segments. */
export async function composeRuns(rungDir: string, runIds: readonly number[]): Promise<ComposedSegment[]> {
  const out: ComposedSegment[] = [];
  for (const runId of runIds) {
    const text = await fs.readFile(path.join(rungDir, runPlaylistName(runId)), 'utf8').catch(() => '');
    const { segments } = parseMediaPlaylist(text);
    segments.forEach((s, i) => out.push({ ...s, sequence: out.length, discontinuity: i === 0 && out.length > 0 }));
  }
  return out;
}

export interface RenderOptions {
  /** 'live': a sliding window without a type; 'event': growing, 'vod': complete (ENDLIST). */
  type: 'live' | 'event' | 'vod';
  /** Appended to every segment URI (e.g. "?token=..."). */
  uriSuffix?: string;
  /** Live: how many of the newest segments to list. */
  window?: number;
}

export function renderMediaPlaylist(all: readonly ComposedSegment[], o: RenderOptions): string {
  const list = o.type === 'live' && o.window ? all.slice(Math.max(0, all.length - o.window)) : all;
  const first = list[0];
  // The first listed segment's discontinuity number: every discontinuity up to and including it.
  const discontinuitySequence = first ? all.slice(0, first.sequence + 1).filter((s) => s.discontinuity).length : 0;
  const target = Math.max(1, ...list.map((s) => Math.ceil(s.duration)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${first?.sequence ?? 0}`];
  if (discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuitySequence}`);
  if (o.type === 'vod') lines.push('#EXT-X-PLAYLIST-TYPE:VOD');
  if (o.type === 'event') lines.push('#EXT-X-PLAYLIST-TYPE:EVENT');
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const s of list) {
    if (s.discontinuity && s !== first) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`, `${s.uri}${o.uriSuffix ?? ''}`);
  }
  if (o.type === 'vod') lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

export function totalDuration(segments: readonly Segment[]): number {
  return segments.reduce((sum, s) => sum + s.duration, 0);
}
