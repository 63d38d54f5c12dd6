// A lesson video as a teacher has one (a generated clip: test pattern and tone, H.264 + AAC in MP4) and its
// upload through the API, as the lesson page sends it.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { HttpClient } from './http-client.ts';

/** Writes a clip of `seconds` at `size` into `dir` and returns its path. */
export function makeVideo(dir: string, name: string, seconds: number, size = '320x240'): string {
  const out = path.join(dir, name);
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '36', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
    out,
  ]);
  return out;
}

/** PUT /api/lessons/:lessonId/video with the file's bytes; the status and the JSON answer. */
export function uploadLessonVideo(
  baseUrl: string,
  client: HttpClient,
  lessonId: string,
  body: Buffer,
  name = 'clip.mp4',
): Promise<{ status: number; body: any }> {
  return fetch(`${baseUrl}/api/lessons/${lessonId}/video`, {
    method: 'PUT',
    headers: {
      cookie: client.cookieHeader,
      'content-type': 'application/octet-stream',
      'x-file-name': encodeURIComponent(name),
      origin: baseUrl,
    },
    body: new Uint8Array(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
}
