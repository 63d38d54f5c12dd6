// Test helpers: what a picture shows, in numbers. ffmpeg crops a region of a frame and averages it down to
// one RGB pixel, from a segment (what the bridge wrote) or from a lavfi test pattern (what we expect there).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type Rgb = [number, number, number];

async function meanColor(inputArgs: string[], region: Region): Promise<Rgb> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      ...inputArgs,
      '-frames:v',
      '1',
      '-vf',
      `crop=${region.w}:${region.h}:${region.x}:${region.y},scale=1:1:flags=area`,
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      '-',
    ],
    { encoding: 'buffer' },
  );
  if (stdout.length < 3) throw new Error('ffmpeg decoded no frame');
  return [stdout[0]!, stdout[1]!, stdout[2]!];
}

/** The mean colour of a region of a frame `atSeconds` into a segment (a file or URL). */
export function regionColor(input: string, region: Region, atSeconds = 0.5): Promise<Rgb> {
  // Seeking after the input (decode and drop): an input seek into a short MPEG-TS segment finds no frame.
  return meanColor(['-i', input, '-ss', atSeconds.toFixed(2)], region);
}

/** The mean colour of the same region of a lavfi pattern drawn at `width`x`height` (the expected picture). */
export function patternColor(pattern: 'smptebars' | 'testsrc2', width: number, height: number, region: Region): Promise<Rgb> {
  return meanColor(['-f', 'lavfi', '-i', `${pattern}=size=${width}x${height}:rate=1`], region);
}

/** Sum of the channel differences (0 = same colour, 765 = black against white). */
export function colorDistance(a: Rgb, b: Rgb): number {
  return Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
}
