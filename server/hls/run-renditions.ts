// A rendition set over a live class's bridge output (RunOutput), as its viewers see it while it is being
// written: the newest few segments for live viewers (`window`), or everything so far as an EVENT playlist
// for a recording still in progress. Playlists are rendered from the runs' playlists at each request.
import { LIVE_WINDOW_SEGMENTS } from './ladder.ts';
import { renderMasterPlaylist, renderMediaPlaylist } from './playlist.ts';
import {
  PLAYLIST_CONTENT_TYPE,
  readMediaFile,
  withQuery,
  type MediaResponse,
  type PlaylistLinks,
  type PlaylistRequest,
  type RenditionSet,
} from './rendition-set.ts';
import { VOD_PLAYLIST_FILE, type RunOutput } from './run-output.ts';

/** Playlists change every segment: players must come back for them. */
export const GROWING_PLAYLIST_CACHE = 'private, max-age=1';
/** A segment never changes once written (its name is never reused). */
export const SEGMENT_CACHE = 'public, max-age=31536000, immutable';

export class RunRenditions implements RenditionSet {
  readonly #output: RunOutput;
  readonly #view: 'live' | 'event';

  /** 'live': a sliding window of the newest segments; 'event': every segment so far. */
  constructor(output: RunOutput, view: 'live' | 'event') {
    this.#output = output;
    this.#view = view;
  }

  async masterPlaylist(links: PlaylistLinks): Promise<MediaResponse | null> {
    const ladder = this.#output.ladder;
    if (!ladder) return null;
    const body = renderMasterPlaylist(ladder, (r) => withQuery(`${r.name}/${VOD_PLAYLIST_FILE}`, links.query));
    return { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: GROWING_PLAYLIST_CACHE };
  }

  async mediaPlaylist(rung: string, request: PlaylistRequest): Promise<MediaResponse | null> {
    if (!this.#output.rung(rung)) return null;
    const segments = await this.#output.segments(rung);
    const body = renderMediaPlaylist(segments, {
      type: this.#view,
      ...(this.#view === 'live' ? { window: LIVE_WINDOW_SEGMENTS } : {}),
      ...(request.query ? { query: request.query } : {}),
    });
    return { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: GROWING_PLAYLIST_CACHE };
  }

  async file(rung: string | null, name: string): Promise<MediaResponse | null> {
    const file = rung ? this.#output.segmentPath(rung, name) : null;
    return file ? readMediaFile(file, SEGMENT_CACHE) : null;
  }
}
