// Test helpers: read a master playlist, and ffprobe a segment for what it really carries.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Variant {
  bandwidth: number;
  resolution: string;
  codecs: string;
  uri: string;
}

export function parseMasterPlaylist(text: string): Variant[] {
  const lines = text.split(/\r?\n/);
  const out: Variant[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const attr = (name: string) => new RegExp(`(?:^|[:,])${name}=("[^"]*"|[^,]*)`).exec(line)?.[1]?.replace(/"/g, '') ?? '';
    out.push({ bandwidth: Number(attr('BANDWIDTH')), resolution: attr('RESOLUTION'), codecs: attr('CODECS'), uri: lines[i + 1]!.trim() });
  });
  return out;
}

export interface SegmentProbe {
  width: number;
  height: number;
  videoCodec: string;
  videoProfile: string;
  videoLevel: number;
  audioCodec: string;
  audioProfile: string;
}

/** ffprobe of a segment, from a path or an http(s) URL. */
export async function probeSegment(input: string): Promise<SegmentProbe> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,codec_name,profile,level,width,height',
    '-of',
    'json',
    input,
  ]);
  const streams = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams;
  const v = streams.find((s) => s.codec_type === 'video') ?? {};
  const a = streams.find((s) => s.codec_type === 'audio') ?? {};
  return {
    width: Number(v.width),
    height: Number(v.height),
    videoCodec: String(v.codec_name),
    videoProfile: String(v.profile),
    videoLevel: Number(v.level),
    audioCodec: String(a.codec_name),
    audioProfile: String(a.profile),
  };
}

/** What ffprobe calls the profile of an avc1.PPCCLL codecs string. */
export function expectedProfile(avc1: string): string {
  const idc = Number.parseInt(avc1.slice(5, 7), 16);
  return idc === 0x4d ? 'Main' : idc === 0x64 ? 'High' : idc === 0x42 ? 'Constrained Baseline' : `profile ${idc}`;
}

/** The H.264 level number of an avc1.PPCCLL codecs string (31 for 3.1). */
export function expectedLevel(avc1: string): number {
  return Number.parseInt(avc1.slice(9, 11), 16);
}

/** Seconds of video ffmpeg really decodes from a file or URL (a truncated or empty segment gives ~0). */
export async function decodedSeconds(input: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=nb_read_frames,r_frame_rate',
    '-of',
    'json',
    input,
  ]);
  const s = (JSON.parse(stdout) as { streams: { nb_read_frames?: string; r_frame_rate?: string }[] }).streams[0] ?? {};
  const [num, den] = (s.r_frame_rate ?? '0/1').split('/').map(Number);
  const fps = num && den ? num / den : 0;
  return fps > 0 ? Number(s.nb_read_frames ?? 0) / fps : 0;
}
