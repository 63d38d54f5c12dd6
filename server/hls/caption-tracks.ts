// The caption track of a replay or a lesson video: one WebVTT file kept beside the media it belongs to (under
// the recording's or the lesson's key prefix in media storage, so it goes wherever the media goes, deletion
// included) and a small description of it (language, label). Served by the same token-checked /media routes
// as the media.
import { z } from 'zod';
import { DomainError } from '../domain-error.ts';
import { captionFormatOf, MAX_CAPTION_BYTES, parseCaptions, renderWebVtt } from './caption-file.ts';
import { readAll, type MediaStorage } from '../storage/media-storage.ts';
import { StorageUnavailable } from '../storage/object-store.ts';
import type { MediaResponse } from './rendition-set.ts';

export const CAPTIONS_FILE = 'captions.vtt';
const DESCRIPTION_FILE = 'captions.json';

/** What the uploader says of the track: its language (BCP 47, e.g. "en", "pt-BR") and the name players show. */
export const CaptionTrackQuery = z.object({
  name: z.string().min(1).max(255),
  language: z
    .string()
    .regex(/^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8}){0,2}$/, 'language must be a language tag such as en or pt-BR')
    .default('en'),
  label: z.string().trim().min(1).max(60).default('Captions'),
});
export type CaptionTrackQuery = z.infer<typeof CaptionTrackQuery>;

const Description = z.object({ language: z.string(), label: z.string(), cues: z.number().int(), updatedAt: z.string() });
export type CaptionTrackDescription = z.infer<typeof Description>;

/** The caption track kept under one key prefix (a recording's, a lesson's). */
export class CaptionTrack {
  readonly #files: Pick<MediaStorage, 'get' | 'readText' | 'put' | 'remove'>;
  readonly #prefix: string;

  constructor(files: Pick<MediaStorage, 'get' | 'readText' | 'put' | 'remove'>, prefix: string) {
    this.#files = files;
    this.#prefix = prefix;
  }

  /** The track's description, or null when there is none (or the object store holding it does not answer: the page shows no captions then). */
  async describe(): Promise<CaptionTrackDescription | null> {
    const text = await this.#files.readText(this.#key(DESCRIPTION_FILE)).catch((err: unknown) => {
      if (err instanceof StorageUnavailable) return null;
      throw err;
    });
    if (text === null) return null;
    try {
      const parsed = Description.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /**
   * Checks an uploaded caption file (.vtt or .srt by its name, UTF-8, at most MAX_CAPTION_BYTES) and keeps it
   * as WebVTT, replacing the track; throws DomainError('invalid_input') with what is wrong.
   */
  async write(body: Uint8Array, query: CaptionTrackQuery): Promise<CaptionTrackDescription> {
    const format = captionFormatOf(query.name);
    if (!format) throw new DomainError('invalid_input', 'Captions must be a .vtt or .srt file');
    if (body.byteLength > MAX_CAPTION_BYTES) throw new DomainError('invalid_input', `Caption files are at most ${MAX_CAPTION_BYTES} bytes`);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      throw new DomainError('invalid_input', 'Caption files must be UTF-8 text');
    }
    const cues = parseCaptions(text, format);
    const description: CaptionTrackDescription = {
      language: query.language,
      label: query.label,
      cues: cues.length,
      updatedAt: new Date().toISOString(),
    };
    // Each file replaced whole (storage writes it aside, then renames): a viewer never reads half a track.
    await this.#files.put(this.#key(CAPTIONS_FILE), renderWebVtt(cues));
    await this.#files.put(this.#key(DESCRIPTION_FILE), JSON.stringify(description));
    return description;
  }

  async remove(): Promise<void> {
    for (const name of [DESCRIPTION_FILE, CAPTIONS_FILE]) await this.#files.remove(this.#key(name));
  }

  /** The WebVTT file for a player, or null when there is no track. */
  async file(): Promise<MediaResponse | null> {
    const found = await this.#files.get(this.#key(CAPTIONS_FILE));
    if (!found) return null;
    const data = await readAll(found.body, 2 * MAX_CAPTION_BYTES);
    // The track may be replaced: players re-fetch it after a few seconds at most.
    return { body: new Uint8Array(data), contentType: 'text/vtt; charset=utf-8', cacheControl: 'private, max-age=10' };
  }

  #key(name: string): string {
    return `${this.#prefix}/${name}`;
  }
}
