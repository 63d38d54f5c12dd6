// Playlists through hls-parser: reading ffmpeg's, writing ours (master, media), and retargeting a finished
// playlist's URIs (the viewer's token on every one). ffmpeg writes one EVENT playlist per rung per run (a
// restart is a new run); renderMediaPlaylist() puts runs together with EXT-X-DISCONTINUITY where one run
// ends and the next begins: the whole of it for a recording (VOD, ENDLIST), the newest few for live viewers.
import HLS from 'hls-parser';
import { AUDIO_CODEC, averageBandwidth, OUTPUT_FPS, peakBandwidth, type Rendition } from './ladder.ts';
import { withQuery } from './rendition-set.ts';

const { MasterPlaylist, MediaInitializationSection, MediaPlaylist, PartialSegment, RenditionReport, Segment, Variant } = HLS.types;

/** Our playlists' version: 6 allows what we use (EXT-X-INDEPENDENT-SEGMENTS, decimal durations). */
const VERSION = 6;

export interface SegmentEntry {
  uri: string;
  duration: number;
  /** The initialisation section (EXT-X-MAP) of a fragmented MP4 segment. */
  map?: string;
}

/** A Low-Latency HLS part as a playlist lists it. */
export interface PartEntry {
  uri: string;
  duration: number;
  independent: boolean;
}

/** The live edge of a Low-Latency HLS rendition (see renderMediaPlaylist). */
export interface LowLatencyEdge {
  partTarget: number;
  /** PART-HOLD-BACK: how far behind the newest part a player should play. */
  partHoldBack: number;
  /** Parts of recent finished segments, by media sequence number. */
  parts: ReadonlyMap<number, readonly PartEntry[]>;
  /** The segment being written: its parts so far and the part that comes next (EXT-X-PRELOAD-HINT). */
  current: { sequence: number; discontinuity: boolean; map?: string; parts: readonly PartEntry[]; hint: string } | null;
  /** Where the other rungs are (EXT-X-RENDITION-REPORT). */
  reports: readonly { uri: string; lastMsn: number; lastPart: number }[];
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
    segments: playlist.segments
      .filter((s) => s.uri)
      .map((s) => ({
        uri: s.uri,
        duration: Number.isFinite(s.duration) ? s.duration : 0,
        ...(s.map?.uri ? { map: s.map.uri } : {}),
      })),
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
  /** Live: Low-Latency HLS parts, preload hint, server control and rendition reports. */
  lowLatency?: LowLatencyEdge;
}

interface RenderLinks {
  /** Appended to every URI's query (e.g. "token=..."). */
  query?: string;
}

export function renderMediaPlaylist(all: readonly ComposedSegment[], o: RenderOptions): string {
  const list = o.type === 'live' && o.window ? all.slice(Math.max(0, all.length - o.window)) : all;
  const first = list[0];
  const ll = o.lowLatency;
  // The first listed segment's discontinuity number: every discontinuity up to and including it.
  const discontinuitySequenceBase = first ? all.slice(0, first.sequence + 1).filter((s) => s.discontinuity).length : 0;
  let discontinuitySequence = discontinuitySequenceBase;
  const mapOf = (uri: string | undefined) => (uri ? new MediaInitializationSection({ uri: withQuery(uri, o.query) }) : undefined);
  const partsOf = (parts: readonly PartEntry[]) =>
    parts.map(
      (p) =>
        new PartialSegment({
          hint: false,
          uri: withQuery(p.uri, o.query),
          duration: Number(p.duration.toFixed(3)),
          independent: p.independent,
        }),
    );
  const segments = list.map((s) => {
    const discontinuity = s.discontinuity && s !== first;
    if (discontinuity) discontinuitySequence++;
    return new Segment({
      uri: withQuery(s.uri, o.query),
      duration: Number(s.duration.toFixed(3)),
      discontinuity,
      mediaSequenceNumber: s.sequence,
      discontinuitySequence,
      map: mapOf(s.map),
      parts: partsOf(ll?.parts.get(s.sequence) ?? []),
    });
  });
  const current = ll?.current;
  if (current) {
    // The segment being written: its parts so far and a hint of the next one, no EXTINF yet.
    const discontinuity = current.discontinuity && segments.length > 0;
    if (discontinuity) discontinuitySequence++;
    segments.push(
      new Segment({
        discontinuity,
        mediaSequenceNumber: current.sequence,
        discontinuitySequence,
        map: mapOf(current.map),
        parts: [...partsOf(current.parts), new PartialSegment({ hint: true, uri: withQuery(current.hint, o.query) })],
      }),
    );
  }
  // Each EXTINF rounded to the nearest integer must not exceed it (RFC 8216 4.3.3.1): a 1.02 s segment keeps 1.
  const targetDuration = Math.max(1, ...list.map((s) => Math.round(s.duration)));
  return HLS.stringify(
    new MediaPlaylist({
      version: VERSION,
      independentSegments: true,
      targetDuration,
      mediaSequenceBase: first?.sequence ?? current?.sequence ?? 0,
      discontinuitySequenceBase,
      ...(o.type === 'live' ? {} : { playlistType: o.type === 'vod' ? 'VOD' : 'EVENT' }),
      endlist: o.type === 'vod',
      segments,
      ...(ll
        ? {
            // HOLD-BACK (players without parts): three target durations, as the specification asks at least.
            lowLatencyCompatibility: {
              canBlockReload: true,
              holdBack: 3 * targetDuration,
              partHoldBack: ll.partHoldBack,
            } as HLS.types.MediaPlaylist['lowLatencyCompatibility'],
            partTargetDuration: ll.partTarget,
            renditionReports: ll.reports.map(
              (r) => new RenditionReport({ uri: withQuery(r.uri, o.query), lastMSN: r.lastMsn, lastPart: r.lastPart }),
            ),
          }
        : {}),
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
    const maps = new Set<HLS.types.MediaInitializationSection>();
    for (const s of playlist.segments) {
      s.uri = withQuery(s.uri, links.query);
      // Segments of one run share one map object: its URI gets the token once.
      if (s.map && !maps.has(s.map)) {
        maps.add(s.map);
        s.map.uri = withQuery(s.map.uri, links.query);
      }
    }
  }
  return HLS.stringify(playlist);
}

export function totalDuration(segments: readonly SegmentEntry[]): number {
  return segments.reduce((sum, s) => sum + s.duration, 0);
}
