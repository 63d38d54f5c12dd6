// A rendition set over a live class's bridge output (RunOutput), as its viewers see it while it is being
// written. 'live': Low-Latency HLS, the newest few segments with the parts of the last ones and of the
// segment being written (from the newest run's RunPackager, in memory), blocking reloads (`_HLS_msn` /
// `_HLS_part` answered once that part exists, 503 after three target durations) and rendition reports of the
// other rungs. 'event': every segment so far, no parts, for a recording still in progress. Older runs'
// segments are read from the playlists on disk at each request.
import { LIVE_WINDOW_SEGMENTS, PART_TARGET_SECONDS, SEGMENT_SECONDS } from './ladder.ts';
import { composeRuns, renderMasterPlaylist, renderMediaPlaylist, type LowLatencyEdge, type PartEntry } from './playlist.ts';
import {
  PLAYLIST_CONTENT_TYPE,
  PlaylistRefused,
  readMediaFile,
  withQuery,
  type MediaResponse,
  type PlaylistLinks,
  type PlaylistRequest,
  type RenditionSet,
} from './rendition-set.ts';
import { VOD_PLAYLIST_FILE, type RunOutput } from './run-output.ts';
import type { PackagedPart, RunPackager, RungPackager } from './run-packager.ts';

/** Playlists change every segment: players must come back for them. */
export const GROWING_PLAYLIST_CACHE = 'private, max-age=1';
/**
 * Live playlists. Without a blocking request it changes with every part: a cache must ask again each time.
 * The answer to a blocking reload (_HLS_msn/_HLS_part) holds for that URL for good: a CDN may keep it a while
 * and answer every viewer asking for the same part from it (six target durations: it is out of the live
 * window by then). Shared caches only when the playlist is the same for everyone (token in the path prefix,
 * not in each URI).
 */
export function livePlaylistCache(blocking: boolean, personal: boolean): string {
  return `${personal ? 'private' : 'public'}, ${blocking ? `max-age=${6 * SEGMENT_SECONDS}` : 'no-cache'}`;
}
/** A segment or part never changes once written (its name is never reused). */
export const SEGMENT_CACHE = 'public, max-age=31536000, immutable';
/** PART-HOLD-BACK: three part targets, as the specification recommends (at least two). */
export const PART_HOLD_BACK_SECONDS = Number((3 * PART_TARGET_SECONDS).toFixed(3));
/** How long a blocking reload (or a request for the hinted part) waits: three target durations. */
export const BLOCKING_TIMEOUT_MS = 3 * SEGMENT_SECONDS * 1000;
/** Finished segments whose parts a live playlist lists. */
const PART_SEGMENTS_LISTED = 2;
/** A blocking reload may ask for at most this many segments past the newest one. */
const MAX_MSN_AHEAD = 2;
const PART = /^run-[0-9]{1,6}-[0-9]{1,8}-p[0-9]{1,3}\.m4s$/;

export class RunRenditions implements RenditionSet {
  readonly #output: RunOutput;
  readonly #view: 'live' | 'event';
  readonly #edge: () => RunPackager | null;

  /**
   * 'live': a sliding window of the newest segments, with the live edge of `edge` (the newest run's
   * packager); 'event': every segment so far.
   */
  constructor(output: RunOutput, view: 'live' | 'event', edge: () => RunPackager | null = () => null) {
    this.#output = output;
    this.#view = view;
    this.#edge = edge;
  }

  async masterPlaylist(links: PlaylistLinks): Promise<MediaResponse | null> {
    const ladder = this.#output.ladder;
    if (!ladder) return null;
    const body = renderMasterPlaylist(ladder, (r) => withQuery(`${r.name}/${VOD_PLAYLIST_FILE}`, links.query));
    return { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: GROWING_PLAYLIST_CACHE };
  }

  async mediaPlaylist(rung: string, request: PlaylistRequest): Promise<MediaResponse | null> {
    if (!this.#output.rung(rung)) return null;
    const query = request.query ? { query: request.query } : {};
    if (this.#view === 'event') {
      const body = renderMediaPlaylist(await this.#output.segments(rung), { type: 'event', ...query });
      return { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: GROWING_PLAYLIST_CACHE };
    }
    const blocking = request.msn !== undefined;
    if (blocking) await this.#blockUntil(rung, request.msn!, request.part, request.signal);
    const packager = this.#edge();
    const live = packager?.rung(rung);
    let body: string;
    if (!packager || !live) {
      body = renderMediaPlaylist(await this.#output.segments(rung), { type: 'live', window: LIVE_WINDOW_SEGMENTS, ...query });
    } else {
      const previous = await this.#output.runSegments(rung, packager.runId);
      const own = live.segments;
      const all = composeRuns([...previous, own.map(({ uri, duration, map }) => ({ uri, duration, ...(map ? { map } : {}) }))]);
      const offset = all.length - own.length;
      const parts = new Map<number, PartEntry[]>();
      // Parts are listed within three target durations of the end (RFC 8216bis 4.4.4.9): the segment being
      // written and the two before it.
      own.forEach((s, i) => {
        if (s.parts.length && i >= own.length - PART_SEGMENTS_LISTED) parts.set(offset + i, s.parts.map(partEntry));
      });
      const edge: LowLatencyEdge = {
        partTarget: PART_TARGET_SECONDS,
        partHoldBack: PART_HOLD_BACK_SECONDS,
        parts,
        current:
          live.ended || !live.hasInit
            ? null
            : {
                sequence: all.length,
                discontinuity: own.length === 0 && offset > 0,
                map: live.initName,
                parts: live.currentParts.map(partEntry),
                hint: live.nextPartName(),
              },
        reports: [...packager.rungs]
          .filter(([name]) => name !== rung)
          .flatMap(([name, other]) => {
            const at = other.position;
            return at ? [{ uri: `../${name}/${VOD_PLAYLIST_FILE}`, lastMsn: other.firstSequence + at.segment, lastPart: at.part }] : [];
          }),
      };
      body = renderMediaPlaylist(all, { type: 'live', window: LIVE_WINDOW_SEGMENTS, lowLatency: edge, ...query });
    }
    return { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: livePlaylistCache(blocking, !!request.query) };
  }

  async file(rung: string | null, name: string): Promise<MediaResponse | null> {
    if (!rung || !this.#output.rung(rung)) return null;
    if (PART.test(name)) {
      const live = this.#view === 'live' ? this.#edge()?.rung(rung) : undefined;
      if (!live) return null;
      // The part the playlist hints at is answered as soon as it exists (EXT-X-PRELOAD-HINT).
      if (!live.part(name) && name === live.nextPartName())
        await waitFor(live, () => !!live.part(name) || live.ended || live.nextPartName() !== name, undefined);
      const part = live.part(name);
      return part ? partResponse(part) : null;
    }
    const file = this.#output.segmentPath(rung, name);
    return file ? readMediaFile(file, SEGMENT_CACHE) : null;
  }

  /** Waits until the rung's playlist holds segment `msn` (and its part `part`), or throws PlaylistRefused. */
  async #blockUntil(rung: string, msn: number, part: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    const live = this.#edge()?.rung(rung);
    if (!live) return;
    const local = msn - live.firstSequence;
    const newest = live.position?.segment ?? 0;
    if (local > newest + MAX_MSN_AHEAD)
      throw new PlaylistRefused(400, 'too_far_ahead', `Segment ${msn} is more than ${MAX_MSN_AHEAD} segments past the live edge`);
    const there = () => {
      if (live.ended || local < 0) return true;
      if (part === undefined) return live.segments.length > local;
      const at = live.position;
      return !!at && (at.segment > local || (at.segment === local && at.part >= part));
    };
    if (!(await waitFor(live, there, signal)))
      throw new PlaylistRefused(503, 'not_yet', `Segment ${msn}${part === undefined ? '' : ` part ${part}`} did not appear in time`);
  }
}

function partEntry(p: PackagedPart): PartEntry {
  return { uri: p.name, duration: p.duration, independent: p.independent };
}

function partResponse(p: PackagedPart): MediaResponse {
  return { body: p.data, contentType: 'video/iso.segment', cacheControl: SEGMENT_CACHE };
}

/** Resolves true once `check()` holds (looked at on each change of the rung), false after the timeout or an abort. */
function waitFor(live: RungPackager, check: () => boolean, signal: AbortSignal | undefined): Promise<boolean> {
  if (check()) return Promise.resolve(true);
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      live.off('change', onChange);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onChange = () => {
      if (check()) done(true);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), BLOCKING_TIMEOUT_MS);
    live.on('change', onChange);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
