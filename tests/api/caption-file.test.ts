// Caption files as teachers have them: an .srt from a subtitle editor becomes WebVTT with the same cues, a
// .vtt keeps its cue settings and loses its notes and styles, and a broken file is refused saying where.
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../server/domain-error.ts';
import { captionFormatOf, parseCaptions, renderWebVtt } from '../../server/hls/caption-file.ts';

const SRT =
  '\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\nHello <font color="red">class</font>\r\n\r\n2\r\n00:01:02,040 --> 01:00:00,000\r\n<i>Two</i>\r\nlines\r\n';

describe('caption files', () => {
  it('converts SRT to WebVTT: times with a dot, text kept, markup players do not know dropped', () => {
    expect(renderWebVtt(parseCaptions(SRT, 'srt'))).toBe(
      'WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHello class\n\n00:01:02.040 --> 01:00:00.000\n<i>Two</i>\nlines\n',
    );
  });

  it('reads WebVTT with short times, ids, settings, notes and styles', () => {
    const vtt =
      'WEBVTT - lecture\n\nNOTE written by hand\n\nSTYLE\n::cue { color: yellow }\n\nintro\n00:05.000 --> 00:07.250 align:start line:10%\nWelcome\n';
    const cues = parseCaptions(vtt, 'vtt');
    expect(cues).toEqual([{ startMs: 5000, endMs: 7250, settings: 'align:start line:10%', text: 'Welcome' }]);
    expect(renderWebVtt(cues)).toBe('WEBVTT\n\n00:00:05.000 --> 00:00:07.250 align:start line:10%\nWelcome\n');
  });

  it.each([
    ['00:00:01.000 --> 00:00:02.000\nno header\n', 'vtt', /starts with the line “WEBVTT”/],
    ['WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nbackwards\n', 'vtt', /Line 3: the cue ends before it starts/],
    ['1\n00:00:01.000 -> 00:00:02.000\nbad arrow\n', 'srt', /Line 1: expected a timing line/],
    ['1\n00:00:1,000 --> 00:00:02,000\nbad time\n', 'srt', /Line 2: .* is not a SRT time/],
    ['WEBVTT\n\n', 'vtt', /no captions/],
    ['', 'srt', /no captions/],
  ] as const)('refuses %j as %s', (text, format, message) => {
    let error: unknown;
    try {
      parseCaptions(text, format);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('invalid_input');
    expect((error as DomainError).message).toMatch(message);
  });

  it('knows a caption file by its name', () => {
    expect([captionFormatOf('Lecture 1.SRT'), captionFormatOf('a.vtt'), captionFormatOf('a.txt'), captionFormatOf('vtt')]).toEqual([
      'srt',
      'vtt',
      null,
      null,
    ]);
  });
});
