// Finds ffmpeg and reads its version once, for /health and start-up logs.
import { execFile } from 'node:child_process';

export interface FfmpegInfo {
  found: boolean;
  path: string;
  version: string | null;
}

export function probeFfmpeg(ffmpegPath: string): Promise<FfmpegInfo> {
  return new Promise((resolve) => {
    execFile(ffmpegPath, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) return resolve({ found: false, path: ffmpegPath, version: null });
      const match = /ffmpeg version (\S+)/.exec(stdout);
      resolve({ found: true, path: ffmpegPath, version: match?.[1] ?? 'unknown' });
    });
  });
}
