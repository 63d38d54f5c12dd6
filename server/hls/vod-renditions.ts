// A finished rendition set: master.m3u8 and <rung>/index.m3u8 (VOD, ENDLIST) with their segments, as a
// recording is once finalised and an uploaded lesson once transcoded, kept in media storage (this machine's
// disk, or the object store once uploaded) under one key prefix. Served as written, with the viewer's token
// added to every URI; segments are streamed, range requests included.
import { retargetPlaylist } from './playlist.ts';
import type { ByteRange } from '../storage/object-store.ts';
import {
  PLAYLIST_CONTENT_TYPE,
  storedMediaFile,
  type MediaFiles,
  type MediaResponse,
  type PlaylistLinks,
  type PlaylistRequest,
  type RenditionSet,
} from './rendition-set.ts';
import { MASTER_FILE, VOD_PLAYLIST_FILE } from './run-output.ts';

export interface VodRenditionsOptions {
  playlistCache: string;
  segmentCache: string;
  /** Files of the whole set besides the master playlist (a thumbnail, a download), by name, with their cache policy. */
  extraFiles?: Record<string, string>;
}

const RUNG = /^[0-9]{2,4}p$/;
const SEGMENT = /^[a-z0-9-]{1,40}\.(?:ts|m4s|mp4)$/;

export class VodRenditions implements RenditionSet {
  /** The key prefix of the set in media storage, e.g. `recordings/<id>`. */
  readonly prefix: string;
  readonly #files: MediaFiles;
  readonly #o: VodRenditionsOptions;

  constructor(files: MediaFiles, prefix: string, options: VodRenditionsOptions) {
    this.#files = files;
    this.prefix = prefix;
    this.#o = options;
  }

  masterPlaylist(links: PlaylistLinks): Promise<MediaResponse | null> {
    return this.#playlist(`${this.prefix}/${MASTER_FILE}`, links);
  }

  mediaPlaylist(rung: string, request: PlaylistRequest): Promise<MediaResponse | null> {
    if (!RUNG.test(rung)) return Promise.resolve(null);
    return this.#playlist(`${this.prefix}/${rung}/${VOD_PLAYLIST_FILE}`, request);
  }

  async file(rung: string | null, name: string, range?: ByteRange): Promise<MediaResponse | null> {
    if (rung === null) {
      const extra = this.#o.extraFiles ?? {};
      return Object.hasOwn(extra, name) ? storedMediaFile(this.#files, `${this.prefix}/${name}`, extra[name]!, range) : null;
    }
    if (!RUNG.test(rung) || !SEGMENT.test(name)) return null;
    return storedMediaFile(this.#files, `${this.prefix}/${rung}/${name}`, this.#o.segmentCache, range);
  }

  async #playlist(key: string, links: PlaylistLinks): Promise<MediaResponse | null> {
    const text = await this.#files.readText(key);
    const body = text === null ? null : retargetPlaylist(text, links);
    return body === null ? null : { body, contentType: PLAYLIST_CONTENT_TYPE, cacheControl: this.#o.playlistCache };
  }
}
