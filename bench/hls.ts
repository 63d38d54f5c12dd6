// HLS benchmark: what a viewer of a live class on HLS gets, through the parts the product runs.
//   The teacher's studio page (Chromium) publishes a canvas whose frames carry the time they were drawn
//   (bench/_frame-clock.ts, with a moving gradient as a camera gives): simulcast VP8 and Opus into the class's
//   mediasoup room -> the HLS bridge (PlainTransport RTP -> one ffmpeg making the live ladder) -> /media ->
//   the class page in its HLS mode (HlsPlayer.svelte: the app's hls.js settings and level choice) in a
//   student page, which reads the time back from each presented frame. Both pages run in one Chromium, so
//   they share a clock.
//   latency:         glass to glass (ms) over the measured window, Low-Latency HLS as the class page plays it
//                    (hls.js lowLatencyMode: parts and blocking reloads).
//   latencyStandard: the same stream for a player without LL-HLS: a second student page whose playlists have
//                    the LL-HLS tags taken out on the way in (whole segments, HOLD-BACK), measured after the first.
//   stalls:          how often and how long each student's video waited for data while measured.
//   encode:          the bridge's ffmpeg over both windows: speed = media seconds written to the top rung (the
//                    segments' own durations) per wall second (1.0 keeps up with the class), cpuPercent = its
//                    CPU time / wall time (100 = one core busy).
//   bridgeDelay:     the bridge's share of the latency: from ffmpeg reading a part's last frame to the part being
//                    published (the media carries the time ffmpeg read it), per part of the top rung.
//   playerBuffer:    the LL-HLS player's share: how much media it holds ahead of the picture it shows. The rest
//                    of glass-to-glass is the teacher's browser and the SFU before ffmpeg, a frame's wait for the
//                    rest of its part, and the part's way to the player (blocking reload, fetch, append).
// Options: --duration 30 (seconds of latency samples after warm-up, per player) or BENCH_DURATION.
// Writes bench/results/hls.json { latency: { p50, p95, frames }, latencyStandard, stalls, encode, ... }.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LIVE_TUNING, PART_FRAGMENT_SECONDS, SEGMENT_SECONDS } from '../server/hls/ladder.ts';
import { launchChromium } from '../tests/helpers/browser.ts';
import { startTestServer, type TestServer } from '../tests/helpers/server.ts';
import { createLiveClass } from '../tests/sfu/fixtures.ts';
import { PART_HOLD_BACK_SECONDS } from '../server/hls/run-renditions.ts';
import { clockCanvas, clockReader } from './_frame-clock.ts';

const CLK_TICKS = 100; // Linux USER_HZ

function cpuSecondsOf(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TICKS; // utime + stime
  } catch {
    return null;
  }
}

/** Seconds of media the bridge has written to its top rung so far (every segment of every run). */
async function mediaSeconds(server: TestServer, classId: string): Promise<number> {
  return (await server.liveHls.bridge(classId)?.mediaSecondsWritten()) ?? 0;
}

interface Latency {
  p50: number;
  p95: number;
  frames: number;
  mean: number;
}

interface Stalls {
  count: number;
  totalMs: number;
}

interface Measured {
  latency: Latency;
  latencyStandard: Latency;
  stalls: { lowLatency: Stalls; standard: Stalls };
  encode: { speed: number; cpuPercent: number; wallSeconds: number; restarts: number; lagRestarts: number; preset: string };
  /** The bridge's share: ms from ffmpeg reading a part's last frame to the part being published (top rung). */
  bridgeDelay: Latency;
  /** The LL-HLS player's share: ms of media it holds ahead of the picture it shows (sampled every 100 ms). */
  playerBuffer: Latency;
  played: { width: number; height: number; levels: string[] };
}

/** The Low-Latency HLS tags a player without LL-HLS support does not know (it then plays whole segments). */
const LL_TAGS = /^#EXT-X-(PART|PART-INF|PRELOAD-HINT|SERVER-CONTROL|RENDITION-REPORT)(:.*)?$/;

function stripLowLatency(playlist: string): string {
  const lines = playlist.split('\n');
  // The segment being written has only parts: with them gone its (empty) entry goes too.
  return lines.filter((l) => !LL_TAGS.test(l)).join('\n');
}

function percentiles(unsorted: number[]): Latency {
  const samples = [...unsorted].sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? NaN;
  return {
    p50: at(0.5),
    p95: at(0.95),
    frames: samples.length,
    mean: Math.round(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
  };
}

async function measure(seconds: number): Promise<Measured> {
  const [browser, server] = await Promise.all([launchChromium(), startTestServer({ app: 'build' })]);
  try {
    const f = await createLiveClass(server);
    const contextFor = async (cookie: string) => {
      const [name, value] = cookie.split('=') as [string, string];
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addCookies([{ name, value, url: server.url }]);
      await context.addInitScript(clockCanvas('gradient'));
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
    process.stderr.write('hls: teacher live\n');

    let pid: number | undefined;
    let cpuBefore: number | null = null;
    let secondsBefore = 0;
    let bridgeDelays: number[] = [];
    let started = 0;
    const levels = new Set<string>();
    let size: [number, number] = [0, 0];

    /** One student on the class page in its HLS mode; `standard`: its playlists lose the LL-HLS tags. */
    const watch = async (standard: boolean): Promise<{ latency: Latency; buffered: Latency; stalls: Stalls }> => {
      const name = standard ? 'standard HLS' : 'LL-HLS';
      process.stderr.write(`hls: a student opens the class in its HLS mode (${name})\n`);
      const context = await contextFor(f.students[0]!.client.cookieHeader);
      if (standard) {
        await context.route(/\/index\.m3u8/, async (route) => {
          const response = await route.fetch();
          await route.fulfill({ response, body: stripLowLatency(await response.text()) });
        });
      }
      await context.addInitScript(() => {
        const stalls = { count: 0, totalMs: 0, since: 0 };
        (window as any).__stalls = stalls;
        document.addEventListener(
          'waiting',
          (e) => {
            if ((e.target as HTMLElement).dataset.testid !== 'hls-video' || !(window as any).__measuring) return;
            stalls.count++;
            stalls.since = performance.now();
          },
          true,
        );
        document.addEventListener(
          'playing',
          (e) => {
            if ((e.target as HTMLElement).dataset.testid !== 'hls-video' || !stalls.since) return;
            stalls.totalMs += performance.now() - stalls.since;
            stalls.since = 0;
          },
          true,
        );
      });
      const student = await context.newPage();
      await student.goto(`${server.url}/classes/${f.classId}?mode=hls`);
      const video = student.getByTestId('hls-video');
      await video.waitFor({ timeout: 120_000 });
      await student.waitForFunction(
        () => (document.querySelector('[data-testid="hls-video"]') as HTMLVideoElement | null)?.readyState === 4,
        null,
        { timeout: 120_000 },
      );
      await video.evaluate((v) => ((window as any).__reader = (window as any).__readClock(v)));
      process.stderr.write(`hls: ${name} playing; warming up 10 s`);
      await student.waitForTimeout(10_000);
      if (!started) {
        pid = server.liveHls.bridge(f.classId)?.ffmpegPid;
        cpuBefore = cpuSecondsOf(pid);
        secondsBefore = await mediaSeconds(server, f.classId);
        started = Date.now();
      }
      await student.evaluate(() => {
        (window as any).__measuring = true;
        (window as any).__reader.start();
        // How far behind the newest media it holds the player shows its picture (its hold-back, as played).
        const v = document.querySelector('[data-testid="hls-video"]') as HTMLVideoElement;
        const ahead: number[] = ((window as any).__ahead = []);
        (window as any).__aheadTimer = setInterval(() => {
          if (v.buffered.length) ahead.push((v.buffered.end(v.buffered.length - 1) - v.currentTime) * 1000);
        }, 100);
      });
      for (let s = 0; s < seconds; s += 5) {
        process.stderr.write(`, ${s} s`);
        await student.waitForTimeout(Math.min(5, seconds - s) * 1000);
        levels.add(await video.evaluate((v) => `${(v as HTMLVideoElement).videoWidth}x${(v as HTMLVideoElement).videoHeight}`));
      }
      process.stderr.write(', done\n');
      const result = (await student.evaluate(() => (window as any).__reader.stop())) as { samples: number[]; size: [number, number] };
      const ahead = (await student.evaluate(() => {
        clearInterval((window as any).__aheadTimer);
        return (window as any).__ahead;
      })) as number[];
      // The parts published during this window (one every PART_FRAGMENT_SECONDS).
      if (!standard)
        bridgeDelays = [...(server.liveHls.bridge(f.classId)?.partDelays() ?? [])].slice(-Math.round(seconds / PART_FRAGMENT_SECONDS));
      // A stall still going on when the window ends counts up to now.
      const stalls = (await student.evaluate(() => {
        const s = (window as any).__stalls;
        return { count: s.count, totalMs: s.totalMs + (s.since ? performance.now() - s.since : 0) };
      })) as Stalls;
      size = result.size;
      await context.close();
      return {
        latency: percentiles(result.samples),
        buffered: percentiles(ahead.map(Math.round)),
        stalls: { count: stalls.count, totalMs: Math.round(stalls.totalMs) },
      };
    };

    const lowLatency = await watch(false);
    const standard = await watch(true);
    const wallSeconds = (Date.now() - started) / 1000;
    const secondsAfter = await mediaSeconds(server, f.classId);
    const pidAfter = server.liveHls.bridge(f.classId)?.ffmpegPid;
    const cpuAfter = pidAfter === pid ? cpuSecondsOf(pid) : null;
    return {
      latency: lowLatency.latency,
      latencyStandard: standard.latency,
      stalls: { lowLatency: lowLatency.stalls, standard: standard.stalls },
      encode: {
        speed: Math.round(((secondsAfter - secondsBefore) / wallSeconds) * 100) / 100,
        cpuPercent: cpuBefore !== null && cpuAfter !== null ? Math.round(((cpuAfter - cpuBefore) / wallSeconds) * 100) : NaN,
        wallSeconds: Math.round(wallSeconds * 10) / 10,
        restarts: server.liveHls.bridge(f.classId)?.restarts ?? 0,
        // Runs replaced because ffmpeg fell behind (each a lighter preset), and the preset it ended on.
        lagRestarts: server.liveHls.bridge(f.classId)?.lagRestarts ?? 0,
        preset: server.liveHls.bridge(f.classId)?.tuning.preset ?? LIVE_TUNING.preset,
      },
      bridgeDelay: percentiles(bridgeDelays),
      playerBuffer: lowLatency.buffered,
      played: { width: size[0], height: size[1], levels: [...levels] },
    };
  } finally {
    await browser.close();
    await server.stop();
  }
}

export default async function hls(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { duration: { type: 'string' } } });
  const seconds = Math.max(10, Number(values.duration ?? process.env.BENCH_DURATION ?? 30));
  const loadBefore = os.loadavg();
  const m = await measure(seconds);
  const loadAfter = os.loadavg();
  // What this measurement still does not share with a real class, said with the figures.
  const differences = [
    'the teacher sends a 1280x720 canvas (moving gradient, 30 fps) instead of a camera',
    'teacher, student, SFU and ffmpeg share one 2-core machine and one Chromium; no network between them',
    `the student window is 1400x900; hls.js (capped to the player size) played ${m.played.levels.join(', ') || 'nothing'}`,
  ];
  const results = {
    latency: m.latency,
    latencyStandard: m.latencyStandard,
    stalls: m.stalls,
    bridgeDelay: m.bridgeDelay,
    playerBuffer: m.playerBuffer,
    encode: { ...m.encode, cores: os.availableParallelism() },
    played: m.played,
    differences,
    load: { before: loadBefore.map((l) => Math.round(l * 100) / 100), after: loadAfter.map((l) => Math.round(l * 100) / 100) },
    segmentSeconds: SEGMENT_SECONDS,
    at: new Date().toISOString(),
  };
  console.table([
    {
      measure: 'live ladder (bridge ffmpeg, RTP VP8/Opus in)',
      value: `${m.encode.speed}x realtime`,
      detail:
        `CPU ${m.encode.cpuPercent}% (100 = one core), preset ${LIVE_TUNING.preset}` +
        (m.encode.lagRestarts ? `, fell behind ${m.encode.lagRestarts}x: ended on ${m.encode.preset}` : '') +
        (m.encode.restarts ? `, ffmpeg crashed ${m.encode.restarts}x` : ''),
      target: '1.0x (keeps up)',
    },
    {
      measure: 'bridge: ffmpeg reads the last frame of a part -> part published (top rung)',
      value: `p50 ${Math.round(m.bridgeDelay.p50)} ms`,
      detail:
        `p95 ${Math.round(m.bridgeDelay.p95)} ms over ${m.bridgeDelay.frames} parts; ` +
        `a frame also waits for the rest of its part (up to ${PART_FRAGMENT_SECONDS * 1000} ms)`,
      target: 'reported',
    },
    {
      measure: 'LL-HLS player: media buffered ahead of the picture shown',
      value: `p50 ${m.playerBuffer.p50} ms`,
      detail: `p95 ${m.playerBuffer.p95} ms (${m.playerBuffer.frames} samples); PART-HOLD-BACK ${PART_HOLD_BACK_SECONDS * 1000} ms`,
      target: 'reported',
    },
    {
      measure: 'glass-to-glass, LL-HLS via the class page (hls.js lowLatencyMode)',
      value: `p50 ${m.latency.p50} ms`,
      detail: `p95 ${m.latency.p95} ms, ${m.latency.frames} frames, stalls ${m.stalls.lowLatency.count} (${m.stalls.lowLatency.totalMs} ms)`,
      target: 'p50 <= 1500 ms, p95 <= 2500 ms',
    },
    {
      measure: 'glass-to-glass, standard HLS (LL-HLS tags removed)',
      value: `p50 ${m.latencyStandard.p50} ms`,
      detail: `p95 ${m.latencyStandard.p95} ms, ${m.latencyStandard.frames} frames, stalls ${m.stalls.standard.count} (${m.stalls.standard.totalMs} ms)`,
      target: 'reported',
    },
  ]);
  console.log(`load average (1/5/15 min): before ${results.load.before.join(' ')}, after ${results.load.after.join(' ')}`);
  console.log('still differs from a real class:');
  for (const d of differences) console.log(`  - ${d}`);
  const out = path.join(import.meta.dirname, 'results', 'hls.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
