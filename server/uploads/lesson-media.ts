// Signed URLs for uploaded lessons' HLS, with the HLS bridge's token format (server/hls/media-tokens.ts):
// the token's scope is the lesson (kind 'lesson', so no class or recording token opens it) and the viewer.
import fs from 'node:fs';
import path from 'node:path';
import { MediaTokens, type MediaScope } from '../hls/media-tokens.ts';

const scope = (lessonId: string): MediaScope => ({ kind: 'lesson', id: lessonId });

/** `hls/master.m3u8`, `hls/720p/index.m3u8`, `hls/720p/seg-00001.ts`: nothing else is ever served. */
const SAFE_FILE = /^hls\/(?:[a-z0-9]+\/)?[a-z0-9-]+\.(?:m3u8|ts)$/;

export class LessonMedia {
  readonly #tokens: MediaTokens;
  readonly #dataDir: string;

  constructor(options: { secret: string | undefined; dataDir: string; ttlSeconds?: number }) {
    this.#tokens = new MediaTokens(options.secret, options.ttlSeconds ?? 600);
    this.#dataDir = options.dataDir;
  }

  /** URL of the lesson's master playlist for this viewer, from the stored relative path. */
  playbackUrl(lessonId: string, userId: string): string {
    const { token } = this.#tokens.sign(scope(lessonId), userId);
    return `/media/lessons/${lessonId}/hls/master.m3u8?token=${encodeURIComponent(token)}`;
  }

  verify(lessonId: string, token: string | undefined): boolean {
    return this.#tokens.verify(token, scope(lessonId)).ok;
  }

  /** Absolute path of a requested file, or null when the name is not one we serve or it does not exist. */
  resolve(lessonId: string, file: string): string | null {
    if (!SAFE_FILE.test(file)) return null;
    const full = path.join(this.#dataDir, 'lessons', lessonId, file);
    return fs.existsSync(full) ? full : null;
  }

  /** Playlists name their children relatively; each child URL gets the token so hls.js can follow it. */
  static tokenisePlaylist(text: string, token: string): string {
    return text
      .split('\n')
      .map((line) => (line && !line.startsWith('#') ? `${line.trim()}${line.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : line))
      .join('\n');
  }
}
