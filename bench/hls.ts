// HLS bridge benchmark.
//   encode:  the live ladder's encoder (same filters, x264 settings and segmenting as the bridge) on a 60 s
//            1280x720 @ 30 fps input, as fast as it goes: speed = media seconds / wall seconds, cpuPercent =
//            ffmpeg's CPU time / wall time (100 = one core busy; the box has os.availableParallelism()).
//   latency: glass to glass through the real path: the teacher's studio page publishes a canvas whose frames
//            carry the time they were drawn (32 black/white blocks, as in bench/latency.ts) -> mediasoup ->
//            HLS bridge -> /media -> hls.js in a student page that reads the time back from each presented
//            frame. Both pages run in one Chromium, so they share a clock.
// Options: --duration 30 (seconds of latency samples after warm-up) or BENCH_DURATION; --skip-latency.
// Writes bench/results/hls.json { encode: { speed, cpuPercent }, latency: { p50, p95 } } (latency in ms).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildVodTranscodeArgs, ladderFor, LIVE_TUNING, SEGMENT_SECONDS } from '../server/hls/ladder.ts';
import { FfmpegProgressParser } from '../server/hls/progress.ts';
import { launchChromium } from '../tests/helpers/browser.ts';
import { startTestServer } from '../tests/helpers/server.ts';
import { createLiveClass } from '../tests/sfu/fixtures.ts';
import { clockCanvas, clockReader } from './_frame-clock.ts';

const CLK_TICKS = 100; // Linux USER_HZ

function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TICKS; // utime + stime
  } catch {
    return null;
  }
}

async function encodeBench(): Promise<{ speed: number; cpuPercent: number; seconds: number; wallSeconds: number; preset: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-hls-'));
  try {
    const input = path.join(dir, 'in.mkv');
    process.stderr.write('encode: generating a 60 s 1280x720@30 input\n');
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        'ffmpeg',
        [
          '-hide_banner',
          '-loglevel',
          'error',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=1280x720:rate=30:duration=60',
          '-f',
          'lavfi',
          '-i',
          'sine=frequency=440:duration=60',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-qp',
          '18',
          '-c:a',
          'flac',
          input,
        ],
        { stdio: 'ignore' },
      );
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`input generation failed (${code})`))));
    });
    const ladder = ladderFor({ width: 1280, height: 720 });
    const args = buildVodTranscodeArgs({
      input,
      outDir: path.join(dir, 'out'),
      ladder,
      hasAudio: true,
      segmentSeconds: SEGMENT_SECONDS,
      tuning: LIVE_TUNING,
      realtime: true,
    });
    const started = Date.now();
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const parser = new FfmpegProgressParser();
    let lastCpu = 0;
    let outTime = 0;
    child.stderr.resume();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const p of parser.push(chunk)) {
        outTime = p.outTimeSeconds || outTime;
        process.stderr.write(`\r  encode: ${outTime.toFixed(1)} s of 60, speed ${Number.isFinite(p.speed) ? p.speed : '?'}x   `);
      }
    });
    const sampler = setInterval(() => (lastCpu = cpuSecondsOf(child.pid!) ?? lastCpu), 200);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearInterval(sampler);
    process.stderr.write('\n');
    if (code !== 0) throw new Error(`ladder encode failed (${code})`);
    const wallSeconds = (Date.now() - started) / 1000;
    return {
      speed: Math.round((60 / wallSeconds) * 100) / 100,
      cpuPercent: Math.round((lastCpu / wallSeconds) * 100),
      seconds: 60,
      wallSeconds,
      preset: LIVE_TUNING.preset,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function latencyBench(seconds: number): Promise<{ p50: number; p95: number; frames: number; mean: number }> {
  const [browser, server] = await Promise.all([launchChromium(), startTestServer({ app: 'build' })]);
  try {
    const f = await createLiveClass(server);
    const contextFor = async (cookie: string) => {
      const [name, value] = cookie.split('=') as [string, string];
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addCookies([{ name, value, url: server.url }]);
      await context.addInitScript(clockCanvas('solid'));
      await context.addInitScript(clockReader(30_000)); // HLS latency is seconds
      return context;
    };
    const teacherContext = await contextFor(f.teacher.client.cookieHeader);
    await teacherContext.addInitScript(`{
      const md = navigator.mediaDevices, original = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => (c && c.video ? window.__clockStream() : original(c));
    }`);
    const teacher = await teacherContext.newPage();
    await teacher.goto(`${server.url}/studio/${f.classId}`);
    await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    process.stderr.write('latency: teacher live; waiting for the HLS stream\n');
    const student = await (await contextFor(f.students[0]!.client.cookieHeader)).newPage();
    await student.goto(`${server.url}/health`);
    let playlistUrl: string | null = null;
    for (let i = 0; i < 120 && !playlistUrl; i++) {
      const res = await f.students[0]!.client.get(`/api/media/classes/${f.classId}/live`);
      playlistUrl = res.status === 200 ? res.body.playlistUrl : null;
      if (!playlistUrl) await new Promise((r) => setTimeout(r, 500));
    }
    if (!playlistUrl) throw new Error('the class never streamed over HLS');
    await student.addScriptTag({ path: path.join(import.meta.dirname, '../node_modules/hls.js/dist/hls.min.js') });
    // The same hls.js settings as the app's HlsPlayer (live).
    await student.evaluate((src) => {
      const video = document.createElement('video');
      video.muted = true;
      video.id = 'v';
      document.body.append(video);
      const Hls = (window as any).Hls;
      const hls = new Hls({ liveSyncDuration: 1.5, liveMaxLatencyDuration: 6, maxLiveSyncPlaybackRate: 1.1, capLevelToPlayerSize: false });
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        hls.currentLevel = hls.levels.length - 1; // the top rung (hls.js orders by bit rate)
        void video.play();
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      (window as any).__reader = (window as any).__readClock(video);
    }, playlistUrl);
    process.stderr.write('latency: warming up 10 s');
    await student.waitForTimeout(10_000);
    await student.evaluate(() => (window as any).__reader.start());
    for (let s = 0; s < seconds; s += 5) {
      process.stderr.write(`, ${s} s`);
      await student.waitForTimeout(Math.min(5, seconds - s) * 1000);
    }
    process.stderr.write(', done\n');
    const samples = ((await student.evaluate(() => (window as any).__reader.stop())) as { samples: number[] }).samples.sort(
      (a, b) => a - b,
    );
    const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
    return {
      p50: at(0.5),
      p95: at(0.95),
      frames: samples.length,
      mean: Math.round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

export default async function hls(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { duration: { type: 'string' }, 'skip-latency': { type: 'boolean' } } });
  const seconds = Math.max(10, Number(values.duration ?? process.env.BENCH_DURATION ?? 30));
  const encode = await encodeBench();
  const latency = values['skip-latency'] ? { p50: NaN, p95: NaN, frames: 0, mean: NaN } : await latencyBench(seconds);
  const results = {
    encode: {
      speed: encode.speed,
      cpuPercent: encode.cpuPercent,
      wallSeconds: Math.round(encode.wallSeconds * 10) / 10,
      preset: encode.preset,
      cores: os.availableParallelism(),
    },
    latency,
    segmentSeconds: SEGMENT_SECONDS,
    at: new Date().toISOString(),
  };
  console.table([
    {
      measure: 'ladder encode 720p30 -> 720p/480p/360p',
      value: `${encode.speed}x realtime`,
      detail: `CPU ${encode.cpuPercent}% (100 = one core), preset ${encode.preset}`,
      target: '>= 1.5x',
    },
    {
      measure: 'glass-to-glass via hls.js',
      value: `p50 ${latency.p50} ms`,
      detail: `p95 ${latency.p95} ms, ${latency.frames} frames`,
      target: 'p50 <= 3000 ms',
    },
  ]);
  const out = path.join(import.meta.dirname, 'results', 'hls.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
