// A rendition set: one ladder of HLS renditions as viewers fetch it, a master playlist naming the rungs, a
// media playlist per rung, and the files they list. A live class, a recording and an uploaded lesson are each
// one; the /media routes check the viewer's token and then only ask the set (a null answer is a 404).
//
// Sets today: RunRenditions (a live class's ffmpeg runs, as a sliding window or as the growing recording) and
// VodRenditions (finished playlists on disk: a ready recording, a transcoded lesson). The live set is backed
// by the Low-Latency HLS packager of the newest run, with parts and blocking reloads (`msn`/`part`).
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { MediaStorage } from '../storage/media-storage.ts';
import { contentTypeOf, type ByteRange } from '../storage/object-store.ts';

export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

/** What a route sends back: the body and the headers that depend on the content. */
export interface MediaResponse {
  body: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType: string;
  cacheControl: string;
  /** A stored file streamed: its whole size, and the bytes `body` carries when a range was asked. */
  size?: number;
  range?: { start: number; end: number };
}

/** What a finished set reads its files through (this machine's copy first, then the object store). */
export type MediaFiles = Pick<MediaStorage, 'get' | 'readText'>;

/** How a playlist names what it lists: every URI gets `query` (the viewer's token), when there is one. */
export interface PlaylistLinks {
  query?: string;
}

/** A media playlist request; `msn`/`part` ask a set that blocks (LL-HLS) to answer once that part exists. */
export interface PlaylistRequest extends PlaylistLinks {
  msn?: number;
  part?: number;
  /** The viewer went away: a blocked request may stop waiting. */
  signal?: AbortSignal;
}

export interface RenditionSet {
  /** The master playlist, or null while the ladder is not known yet (no media so far). */
  masterPlaylist(links: PlaylistLinks): Promise<MediaResponse | null>;
  /** A rung's media playlist, or null for a rung the set does not have. */
  mediaPlaylist(rung: string, request: PlaylistRequest): Promise<MediaResponse | null>;
  /**
   * A file of the set: a segment (or part, init section) of a rung, or a file of the whole set (rung null);
   * only `range`'s bytes when the set can (else the route cuts them out). Throws RangeNotSatisfiable.
   */
  file(rung: string | null, name: string, range?: ByteRange): Promise<MediaResponse | null>;
}

/**
 * A playlist request the set will not answer: a blocking reload asking for a part too far ahead (400), or one
 * whose part did not appear in time (503, the player asks again).
 */
export class PlaylistRefused extends Error {
  readonly status: 400 | 503;
  readonly code: string;

  constructor(status: 400 | 503, code: string, message: string) {
    super(message);
    this.name = 'PlaylistRefused';
    this.status = status;
    this.code = code;
  }
}

/** `uri` with `query` appended (after `?`, or `&` when it has a query already). */
export function withQuery(uri: string, query: string | undefined): string {
  if (!query) return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
}

/**
 * A signed media URL: the token as a path prefix, so that every file of the set (listed with relative URIs)
 * carries it and has a URL that stays the same for the token's life (cacheable; README: CDN).
 */
export function mediaUrl(token: string, file: string): string {
  return `/media/t/${encodeURIComponent(token)}/${file}`;
}

/** The media token as playlist URIs carry it (the older ?token= form). */
export function tokenQuery(token: string): string {
  return `token=${encodeURIComponent(token)}`;
}

/** Reads a file of a set; a file that is not there (yet, or any more) is null, like a name the set does not have. */
export async function readMediaFile(file: string, cacheControl: string): Promise<MediaResponse | null> {
  const data = await fs.readFile(file).catch(() => null);
  if (!data) return null;
  return { body: new Uint8Array(data), contentType: contentTypeOf(file), cacheControl };
}

/** A stored file of a set (or `range` of it), streamed; null when it is not there. */
export async function storedMediaFile(
  files: MediaFiles,
  key: string,
  cacheControl: string,
  range?: ByteRange,
): Promise<MediaResponse | null> {
  const found = await files.get(key, range);
  if (!found) return null;
  return {
    body: Readable.toWeb(found.body) as ReadableStream<Uint8Array>,
    contentType: contentTypeOf(key),
    cacheControl,
    size: found.size,
    ...(found.range ? { range: found.range } : {}),
  };
}
