// The caption track of a replay or a lesson video: one WebVTT file kept beside the media it belongs to (in the
// recording's or the lesson's directory, so it goes wherever the media goes, deletion included) and a small
// description of it (language, label). Served by the same token-checked /media routes as the media.
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { DomainError } from '../domain-error.ts';
import { captionFormatOf, MAX_CAPTION_BYTES, parseCaptions, renderWebVtt } from './caption-file.ts';
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

/** The track in `dir`, or null when it has none. */
export async function readCaptionTrack(dir: string): Promise<CaptionTrackDescription | null> {
  const text = await fs.readFile(path.join(dir, DESCRIPTION_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = Description.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * Checks an uploaded caption file (.vtt or .srt by its name, UTF-8, at most MAX_CAPTION_BYTES) and keeps it in
 * `dir` as WebVTT, replacing the track there; throws DomainError('invalid_input') with what is wrong.
 */
export async function writeCaptionTrack(dir: string, body: Uint8Array, query: CaptionTrackQuery): Promise<CaptionTrackDescription> {
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
  await fs.mkdir(dir, { recursive: true });
  // Each file replaced whole (written aside, then renamed): a viewer never reads half a track.
  for (const [name, content] of [
    [CAPTIONS_FILE, renderWebVtt(cues)],
    [DESCRIPTION_FILE, JSON.stringify(description)],
  ] as const) {
    await fs.writeFile(path.join(dir, `${name}.tmp`), content);
    await fs.rename(path.join(dir, `${name}.tmp`), path.join(dir, name));
  }
  return description;
}

export async function removeCaptionTrack(dir: string): Promise<void> {
  for (const name of [DESCRIPTION_FILE, CAPTIONS_FILE]) await fs.rm(path.join(dir, name), { force: true });
}

/** The WebVTT file for a player, or null when there is no track. */
export async function captionFile(dir: string): Promise<MediaResponse | null> {
  const data = await fs.readFile(path.join(dir, CAPTIONS_FILE)).catch(() => null);
  // The track may be replaced: players re-fetch it after a few seconds at most.
  return data && { body: new Uint8Array(data), contentType: 'text/vtt; charset=utf-8', cacheControl: 'private, max-age=10' };
}
