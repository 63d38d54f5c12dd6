// Profile pictures: the upload's own bytes say what it is (PNG, JPEG, GIF or WebP by their signatures; the
// name and the declared type are ignored), ffmpeg decodes it with that one demuxer forced (no probing, so
// nothing else in ffmpeg's reach reads the bytes), refuses pictures larger than MAX_PIXELS decoded, and writes
// a fresh 256x256 WebP: what is stored and served is always our own re-encoding.
import { spawn } from 'node:child_process';

export const AVATAR_SIZE = 256;
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
const MAX_PIXELS = 40_000_000;
const TIMEOUT_MS = 20_000;

export class AvatarError extends Error {}

/** The ffmpeg demuxer for the image the bytes are, or null. */
export function imageDemuxer(bytes: Uint8Array): 'png_pipe' | 'jpeg_pipe' | 'gif' | 'webp_pipe' | null {
  const ascii = (from: number, to: number) => Buffer.from(bytes.subarray(from, to)).toString('latin1');
  if (bytes.length >= 8 && ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png_pipe';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg_pipe';
  if (bytes.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp_pipe';
  return null;
}

/** Re-encodes the picture (its first frame) into a square WebP at `outFile`. */
export async function reencodeAvatar(bytes: Uint8Array, ffmpegPath: string, outFile: string): Promise<void> {
  const demuxer = imageDemuxer(bytes);
  if (!demuxer) throw new AvatarError('Choose a PNG, JPEG, GIF or WebP picture');
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-max_pixels',
    String(MAX_PIXELS),
    '-f',
    demuxer,
    '-i',
    'pipe:0',
    '-frames:v',
    '1',
    '-vf',
    `scale=${AVATAR_SIZE}:${AVATAR_SIZE}:force_original_aspect_ratio=increase,crop=${AVATAR_SIZE}:${AVATAR_SIZE}`,
    '-c:v',
    'libwebp',
    '-quality',
    '80',
    '-f',
    'webp',
    '-y',
    outFile,
  ];
  const child = spawn(ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdin.on('error', () => {}); // ffmpeg may stop reading a picture it refuses
  child.stdin.end(bytes);
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => clearTimeout(timer));
  if (code !== 0) throw new AvatarError(`That picture could not be read${stderr ? ` (${stderr.trim().split('\n').at(-1)})` : ''}`);
}
