// Playlists through hls-parser: reading ffmpeg's, writing ours (master, media), and retargeting a finished
// playlist's URIs (the viewer's token on every one). ffmpeg writes one EVENT playlist per rung per run (a
// restart is a new run); renderMediaPlaylist() puts runs together with EXT-X-DISCONTINUITY where one run
// ends and the next begins: the whole of it for a recording (VOD, ENDLIST), the newest few for live viewers.
import HLS from 'hls-parser';
import { AUDIO_CODEC, averageBandwidth, OUTPUT_FPS, peakBandwidth, type Rendition } from './ladder.ts';
import { withQuery } from './rendition-set.ts';

const { MasterPlaylist, MediaPlaylist, Segment, Variant } = HLS.types;

/** Our playlists' version: 6 allows what we use (EXT-X-INDEPENDENT-SEGMENTS, decimal durations). */
const VERSION = 6;

export interface SegmentEntry {
  uri: string;
  duration: number;
}

export interface ParsedPlaylist {
  targetDuration: number;
  segments: SegmentEntry[];
  ended: boolean;
}

export interface ComposedSegment extends SegmentEntry {
  /** Global index over all runs (what EXT-X-MEDIA-SEQUENCE counts). */
  sequence: number;
  /** The first segment of a run after an earlier one: a discontinuity precedes it. */
  discontinuity: boolean;
}

function parse(text: string): HLS.types.MasterPlaylist | HLS.types.MediaPlaylist | null {
  if (!text.startsWith('#EXTM3U')) return null;
  try {
    return HLS.parse(text);
  } catch {
    // A playlist caught half-written (ffmpeg replaces them atomically, but a crash can leave anything).
    return null;
  }
}

/** A media playlist's segments (an empty one for text that is not a media playlist). */
export function parseMediaPlaylist(text: string): ParsedPlaylist {
  const playlist = parse(text);
  if (!playlist || playlist.isMasterPlaylist) return { targetDuration: 0, segments: [], ended: false };
  return {
    targetDuration: playlist.targetDuration,
    segments: playlist.segments.map((s) => ({ uri: s.uri, duration: Number.isFinite(s.duration) ? s.duration : 0 })),
    ended: playlist.endlist,
  };
}

/** Numbers the segments of consecutive runs; each run after the first starts with a discontinuity. */
export function composeRuns(runs: readonly (readonly SegmentEntry[])[]): ComposedSegment[] {
  const out: ComposedSegment[] = [];
  for (const segments of runs) {
    segments.forEach((s, i) => out.push({ ...s, sequence: out.length, discontinuity: i === 0 && out.length > 0 }));
  }
  return out;
}

export interface RenderOptions extends RenderLinks {
  /** 'live': a sliding window without a type; 'event': growing, 'vod': complete (ENDLIST). */
  type: 'live' | 'event' | 'vod';
  /** Live: how many of the newest segments to list. */
  window?: number;
}

interface RenderLinks {
  /** Appended to every URI's query (e.g. "token=..."). */
  query?: string;
}

export function renderMediaPlaylist(all: readonly ComposedSegment[], o: RenderOptions): string {
  const list = o.type === 'live' && o.window ? all.slice(Math.max(0, all.length - o.window)) : all;
  const first = list[0];
  // The first listed segment's discontinuity number: every discontinuity up to and including it.
  const discontinuitySequenceBase = first ? all.slice(0, first.sequence + 1).filter((s) => s.discontinuity).length : 0;
  let discontinuitySequence = discontinuitySequenceBase;
  const segments = list.map((s) => {
    const discontinuity = s.discontinuity && s !== first;
    if (discontinuity) discontinuitySequence++;
    return new Segment({
      uri: withQuery(s.uri, o.query),
      duration: Number(s.duration.toFixed(3)),
      discontinuity,
      mediaSequenceNumber: s.sequence,
      discontinuitySequence,
    });
  });
  return HLS.stringify(
    new MediaPlaylist({
      version: VERSION,
      independentSegments: true,
      targetDuration: Math.max(1, ...list.map((s) => Math.ceil(s.duration))),
      mediaSequenceBase: first?.sequence ?? 0,
      discontinuitySequenceBase,
      ...(o.type === 'live' ? {} : { playlistType: o.type === 'vod' ? 'VOD' : 'EVENT' }),
      endlist: o.type === 'vod',
      segments,
    }),
  );
}

/** The master playlist: one EXT-X-STREAM-INF per rung, best first; `uriFor` says where the variant lives. */
export function renderMasterPlaylist(
  ladder: readonly Rendition[],
  uriFor: (r: Rendition) => string = (r) => `${r.name}/index.m3u8`,
): string {
  return HLS.stringify(
    new MasterPlaylist({
      version: VERSION,
      independentSegments: true,
      variants: ladder.map(
        (r) =>
          new Variant({
            uri: uriFor(r),
            bandwidth: peakBandwidth(r),
            averageBandwidth: averageBandwidth(r),
            resolution: { width: r.width, height: r.height },
            frameRate: OUTPUT_FPS,
            codecs: `${r.videoCodec},${AUDIO_CODEC}`,
          }),
      ),
    }),
  );
}

/** A finished playlist (master or media) with `query` on every URI it lists; null when it does not parse. */
export function retargetPlaylist(text: string, links: RenderLinks): string | null {
  const playlist = parse(text);
  if (!playlist) return null;
  if (!links.query) return HLS.stringify(playlist);
  if (playlist.isMasterPlaylist) {
    for (const v of playlist.variants) v.uri = withQuery(v.uri, links.query);
  } else {
    for (const s of playlist.segments) s.uri = withQuery(s.uri, links.query);
  }
  return HLS.stringify(playlist);
}

export function totalDuration(segments: readonly SegmentEntry[]): number {
  return segments.reduce((sum, s) => sum + s.duration, 0);
}
