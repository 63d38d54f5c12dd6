// A recording's rendition set: while the class is on (recording, processing) its runs as one growing EVENT
// playlist; once finalised (ready) the VOD playlists written on disk (or uploaded to the object store).
// Segments and the thumbnail are the same files either way, so only playlists ask for the recording's state.
import type { RecordingStatus } from '../contracts/media.ts';
import type { ByteRange } from '../storage/object-store.ts';
import type { MediaFiles, MediaResponse, PlaylistLinks, PlaylistRequest, RenditionSet } from './rendition-set.ts';
import { DOWNLOAD_FILE, RunOutput, THUMBNAIL_FILE } from './run-output.ts';
import { RunRenditions, SEGMENT_CACHE } from './run-renditions.ts';
import { VodRenditions } from './vod-renditions.ts';

/** A finished recording's playlists change no more; a few minutes of caching spares the server. */
const VOD_PLAYLIST_CACHE = 'private, max-age=300';

export class RecordingRenditions implements RenditionSet {
  readonly #dir: string;
  readonly #status: () => Promise<RecordingStatus | undefined>;
  readonly #finished: VodRenditions;

  /**
   * `dir`: where the bridge writes the recording on this machine; `files` and `prefix`: where it is kept once
   * finished. `status` is asked at each playlist request: another process may finalise the recording meanwhile.
   */
  constructor(files: MediaFiles, prefix: string, dir: string, status: () => Promise<RecordingStatus | undefined>) {
    this.#dir = dir;
    this.#status = status;
    this.#finished = new VodRenditions(files, prefix, {
      playlistCache: VOD_PLAYLIST_CACHE,
      segmentCache: SEGMENT_CACHE,
      // The MP4 download: replaced only when the replay changes (a class continued), which removes it first.
      extraFiles: { [THUMBNAIL_FILE]: 'private, max-age=3600', [DOWNLOAD_FILE]: 'private, max-age=3600' },
    });
  }

  async masterPlaylist(links: PlaylistLinks): Promise<MediaResponse | null> {
    return (await this.#current())?.masterPlaylist(links) ?? null;
  }

  async mediaPlaylist(rung: string, request: PlaylistRequest): Promise<MediaResponse | null> {
    return (await this.#current())?.mediaPlaylist(rung, request) ?? null;
  }

  file(rung: string | null, name: string, range?: ByteRange): Promise<MediaResponse | null> {
    return this.#finished.file(rung, name, range);
  }

  async #current(): Promise<RenditionSet | null> {
    const status = await this.#status();
    if (status === 'ready') return this.#finished;
    if (status !== 'recording' && status !== 'processing') return null;
    const output = await RunOutput.open(this.#dir);
    return output && new RunRenditions(output, 'event');
  }
}
