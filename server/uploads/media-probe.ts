// Is an uploaded file a video we can transcode? Asked of ffprobe (container and streams), never of the
// file name or the browser's content type.
import { execFile } from 'node:child_process';

export interface ProbedMedia {
  formatName: string;
  durationSeconds: number;
  width: number;
  height: number;
  videoCodec: string;
  hasAudio: boolean;
}

export class ProbeError extends Error {}

/** Still-image "formats" ffprobe happily reads as a one-frame video stream. */
const IMAGE_FORMATS = /^(image2|png_pipe|jpeg_pipe|webp_pipe|gif|bmp_pipe|tiff_pipe|svg_pipe|ico)/;
const IMAGE_CODECS = new Set(['png', 'mjpeg', 'bmp', 'gif', 'webp', 'tiff', 'svg']);

export function probeMedia(ffprobePath: string, file: string): Promise<ProbedMedia> {
  return new Promise((resolve, reject) => {
    execFile(
      ffprobePath,
      ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
      { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const reason =
            stderr
              .trim()
              .split('\n')
              .pop()
              ?.replace(/^.*?: /, '') || 'ffprobe could not read it';
          return reject(new ProbeError(`This file is not a video we can read (${reason})`));
        }
        let info: {
          format?: { format_name?: string; duration?: string };
          streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; duration?: string }[];
        };
        try {
          info = JSON.parse(stdout);
        } catch {
          return reject(new ProbeError('This file is not a video we can read (unreadable probe output)'));
        }
        const video = info.streams?.find((s) => s.codec_type === 'video');
        const formatName = info.format?.format_name ?? '';
        if (!video) return reject(new ProbeError('This file has no video stream'));
        if (IMAGE_FORMATS.test(formatName) || IMAGE_CODECS.has(video.codec_name ?? '')) {
          return reject(new ProbeError('This file is a still image, not a video'));
        }
        const duration = Number(info.format?.duration ?? video.duration ?? 0);
        if (!Number.isFinite(duration) || duration <= 0) return reject(new ProbeError('This video has no playable length'));
        resolve({
          formatName,
          durationSeconds: duration,
          width: video.width ?? 0,
          height: video.height ?? 0,
          videoCodec: video.codec_name ?? 'unknown',
          hasAudio: Boolean(info.streams?.some((s) => s.codec_type === 'audio')),
        });
      },
    );
  });
}
