// The teacher's media for the fan-out bench: the studio's camera encodings (3-layer VP8 simulcast at 1/4, 1/2
// and full 1280x720, at the studio's maxBitrate/maxFramerate, see app/src/lib/media/sfu-session.svelte.ts)
// and Opus, encoded once with libvpx/libopus from a moving test picture with noise (so the encoder spends
// its bitrate as on a camera) and cached; then replayed in a loop by one ffmpeg (`-re`, `-c copy`) as RTP to
// local UDP ports, one per layer and one for audio. The RTP packetization is ffmpeg's.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CameraLayer {
  name: string;
  width: number;
  height: number;
  fps: number;
  kbps: number;
}

/** The studio's CAMERA_ENCODINGS for a 1280x720 camera, lowest first (mediasoup's spatial layer order). */
export const CAMERA_LAYERS: CameraLayer[] = [
  { name: 'q', width: 320, height: 180, fps: 15, kbps: 150 },
  { name: 'h', width: 640, height: 360, fps: 30, kbps: 500 },
  { name: 'f', width: 1280, height: 720, fps: 30, kbps: 1800 },
];
export const AUDIO_KBPS = 32;
const CLIP_SECONDS = 20;
/** Key frame spacing of the recorded clips: a browser sends them on PLI; replayed media cannot, so often enough. */
const KEY_FRAME_SECONDS = 2;

const cacheDir = path.join(os.homedir(), '.cache', 'lectern', 'bench-fanout-v1');

function ffmpegRun(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The encoded clips (cached across runs): one WebM per layer and one Ogg Opus. */
export function encodedClips(): { video: string[]; audio: string } {
  fs.mkdirSync(cacheDir, { recursive: true });
  const picture = `testsrc2=size=1280x720:rate=30,noise=alls=14:allf=t+u`;
  const video = CAMERA_LAYERS.map((l) => {
    const file = path.join(cacheDir, `camera-${l.name}-${l.width}x${l.height}-${l.fps}-${l.kbps}k.webm`);
    if (!fs.existsSync(file)) {
      process.stderr.write(`fanout: encoding the ${l.width}x${l.height} layer once (${CLIP_SECONDS} s)\n`);
      const k = `${l.kbps}k`;
      ffmpegRun([
        ...['-f', 'lavfi', '-i', picture, '-t', String(CLIP_SECONDS)],
        ...['-vf', `scale=${l.width}:${l.height},fps=${l.fps}`],
        ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', k, '-minrate', k, '-maxrate', k],
        ...['-bufsize', `${Math.round(l.kbps / 2)}k`, '-g', String(l.fps * KEY_FRAME_SECONDS), '-auto-alt-ref', '0'],
        ...['-error-resilient', '1', '-an', `${file}.part.webm`],
      ]);
      fs.renameSync(`${file}.part.webm`, file);
    }
    return file;
  });
  const audio = path.join(cacheDir, `mic-${AUDIO_KBPS}k.ogg`);
  if (!fs.existsSync(audio)) {
    ffmpegRun([
      ...['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=48000,volume=0.3', '-t', String(CLIP_SECONDS)],
      ...['-c:a', 'libopus', '-b:a', `${AUDIO_KBPS}k`, '-frame_duration', '20', '-ac', '2', `${audio}.part.ogg`],
    ]);
    fs.renameSync(`${audio}.part.ogg`, audio);
  }
  return { video, audio };
}

/** One ffmpeg replaying the clips forever as RTP: video layer i to `ports[i]`, audio to `ports[3]`. */
export function replayAsRtp(clips: { video: string[]; audio: string }, ports: number[], cpu: number | undefined): ChildProcess {
  const inputs = [...clips.video, clips.audio].flatMap((f) => ['-re', '-stream_loop', '-1', '-i', f]);
  const outputs = ports.flatMap((port, i) => [
    '-map',
    `${i}:${i < clips.video.length ? 'v' : 'a'}`,
    '-c',
    'copy',
    '-f',
    'rtp',
    `rtp://127.0.0.1:${port}?pkt_size=1200`,
  ]);
  const args = ['-hide_banner', '-loglevel', 'error', ...inputs, ...outputs];
  return cpu === undefined
    ? spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn('taskset', ['-c', String(cpu), 'ffmpeg', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}
