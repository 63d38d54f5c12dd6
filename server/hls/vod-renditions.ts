// A finished rendition set on disk: master.m3u8 and <rung>/index.m3u8 (VOD, ENDLIST) with their segments,
// as a recording is once finalised and an uploaded lesson once transcoded. Served as written, with the
// viewer's token added to every URI.
import path from 'node:path';
import fs from 'node:fs/promises';
import { retargetPlaylist } from './playlist.ts';
import {
  PLAYLIST_CONTENT_TYPE,
  readMediaFile,
  type MediaResponse,
  type PlaylistLinks,
  type PlaylistRequest,
  type RenditionSet,
} from './rendition-set.ts';
import { MASTER_FILE, VOD_PLAYLIST_FILE } from './run-output.ts';

export interface VodRenditionsOptions {
  playlistCache: string;
  segmentCache: string;
  /** Files of the whole set besides the master playlist (a thumbnail), by name, with their cache policy. */
  extraFiles?: Record<string, string>;
}

const RUNG = /^[0-9]{2,4}p$/;
const SEGMENT = /^[a-z0-9-]{1,40}\.(?:ts|m4s|mp4)$/;

export class VodRenditions implements RenditionSet {
  readonly dir: string;
  readonly #o: VodRenditionsOptions;

  constructor(dir: string, options: VodRenditionsOptions) {
    this.dir = dir;
    this.#o = options;
  }

  masterPlaylist(links: PlaylistLinks): Promise<MediaResponse | null> {
    return this.#playlist(path.join(this.dir, MASTER_FILE), links);
  }

  mediaPlaylist(rung: string, request: PlaylistRequest): Promise<MediaResponse | null> {
    if (!RUNG.test(rung)) return Promise.resolve(null);
    return this.#playlist(path.join(this.dir, rung, VOD_PLAYLIST_FILE), request);
  }

  async file(rung: string | null, name: string): Promise<MediaResponse | null> {
    if (rung === null) {
      const extra = this.#o.extraFiles ?? {};
      return Object.hasOwn(extra, name) ? readMediaFile(path.join(this.dir, name), extra[name]!) : null;
    }
    if (!RUNG.test(rung) || !SEGMENT.test(name)) return null;
    return readMediaFile(path.join(this.dir, rung, name), this.#o.segmentCache);
  }

  async #playlist(file: string, links: PlaylistLinks): Promise<MediaResponse | null> {
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    const body = text === null ? null : retargetPlaylist(text, links);
    return body === null ? null : { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: this.#o.playlistCache };
  }
}
