// A caption file a teacher uploads (.vtt or .srt), checked cue by cue and written back as WebVTT, the one
// format players take as a text track. Only what a viewer sees is kept: cue timings (with WebVTT cue
// settings), text and the basic styling tags (<i>, <b>, <u>); SRT's <font> and any other markup go.
import { DomainError } from '../domain-error.ts';

/** Largest caption file accepted: a two-hour class with dense captions is a few hundred kilobytes. */
export const MAX_CAPTION_BYTES = 1024 * 1024;
/** Cues per file, past which the file is not captions for a class. */
const MAX_CUES = 50_000;
/** A cue's text, in characters. */
const MAX_CUE_TEXT = 1_000;

export type CaptionFormat = 'vtt' | 'srt';

export interface Cue {
  startMs: number;
  endMs: number;
  /** WebVTT cue settings (position, align, ...), kept from a .vtt file. */
  settings: string;
  text: string;
}

// (hh:)mm:ss.mmm in WebVTT; hh:mm:ss,mmm in SRT (players also write a '.'; both are taken).
const VTT_TIME = /^(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;
const SRT_TIME = /^(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{3})$/;

function refuse(message: string): never {
  throw new DomainError('invalid_input', message);
}

function timeMs(text: string, format: CaptionFormat, line: number): number {
  const m = (format === 'vtt' ? VTT_TIME : SRT_TIME).exec(text.trim());
  if (!m) refuse(`Line ${line}: “${text.trim().slice(0, 40)}” is not a ${format === 'vtt' ? 'WebVTT' : 'SRT'} time`);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

function cleanText(lines: string[]): string {
  return lines
    .join('\n')
    .replace(/<(?!\/?(?:i|b|u)>)[^>]*>/gi, '')
    .trim();
}

/** The cues of a caption file; throws DomainError('invalid_input') saying which line is wrong. */
export function parseCaptions(raw: string, format: CaptionFormat): Cue[] {
  const text = raw.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (text.includes('\0')) refuse('This is not a text file');
  const lines = text.split('\n');
  let i = 0;
  if (format === 'vtt') {
    if (!/^WEBVTT(?:[ \t].*)?$/.test(lines[0] ?? '')) refuse('A WebVTT file starts with the line “WEBVTT”');
    // The header block runs to the first blank line.
    while (i < lines.length && lines[i]!.trim() !== '') i++;
  }
  const cues: Cue[] = [];
  while (i < lines.length) {
    while (i < lines.length && lines[i]!.trim() === '') i++;
    if (i >= lines.length) break;
    const block: { text: string; line: number }[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') block.push({ text: lines[i]!, line: ++i });
    if (format === 'vtt' && /^(?:NOTE|STYLE|REGION)(?:\s|$)/.test(block[0]!.text)) continue;
    // An identifier (an SRT cue number, an optional WebVTT id) may come before the timing line.
    const timingAt = block.findIndex((b) => b.text.includes('-->'));
    if (timingAt < 0 || timingAt > 1)
      refuse(
        `Line ${block[0]!.line}: expected a timing line like “00:00:01${format === 'vtt' ? '.' : ','}000 --> 00:00:03${format === 'vtt' ? '.' : ','}500”`,
      );
    const timing = block[timingAt]!;
    const [from, rest] = timing.text.split('-->') as [string, string];
    const [to, ...settings] = rest.trim().split(/[ \t]+/);
    const startMs = timeMs(from, format, timing.line);
    const endMs = timeMs(to ?? '', format, timing.line);
    if (endMs <= startMs) refuse(`Line ${timing.line}: the cue ends before it starts`);
    const cueText = cleanText(block.slice(timingAt + 1).map((b) => b.text));
    if (cueText.length > MAX_CUE_TEXT) refuse(`Line ${timing.line}: a cue's text is longer than ${MAX_CUE_TEXT} characters`);
    if (cueText.includes('-->')) refuse(`Line ${timing.line}: a cue's text may not contain “-->”`);
    cues.push({ startMs, endMs, settings: format === 'vtt' ? settings.join(' ') : '', text: cueText });
    if (cues.length > MAX_CUES) refuse(`More than ${MAX_CUES} cues`);
  }
  if (!cues.length) refuse('The file has no captions');
  return cues;
}

function vttTime(ms: number): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** The cues as a WebVTT file. */
export function renderWebVtt(cues: readonly Cue[]): string {
  const blocks = cues.map((c) => `${vttTime(c.startMs)} --> ${vttTime(c.endMs)}${c.settings ? ` ${c.settings}` : ''}\n${c.text}`);
  return `WEBVTT\n\n${blocks.join('\n\n')}\n`;
}

/** The format a file's name says it has, or null for any other name. */
export function captionFormatOf(fileName: string): CaptionFormat | null {
  const ext = /\.([a-z]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  return ext === 'vtt' || ext === 'srt' ? ext : null;
}
