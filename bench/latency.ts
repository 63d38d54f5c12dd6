// Glass-to-glass latency of a live class: the teacher's "camera" is a 1280x720 canvas at 30 fps whose frames
// carry the time they were drawn (32 black/white blocks); the student's page reads the time back out of each
// decoded frame as it is presented. Both pages run in one Chromium, so they share a clock. Two paths, same run:
//   sfu: the real studio -> mediasoup -> classroom pages (camera simulcast, the student on the top layer)
//   p2p: two RTCPeerConnections in one page, no server (the floor the SFU is compared with)
// Both receivers render alike: device scale factor 2, the video as wide as the classroom's player (at that size
// the student asks for the 720p layer). Both paths carry the fake microphone in the same stream as the video
// (lip sync on, as in a real class); --no-audio measures video alone (headless Chromium's fake audio I/O adds
// a large A/V-sync delay). The second table says where the time goes (WebRTC statistics over the window).
// The server's HLS bridge (an x264 ladder in ffmpeg) is off by default: on a real deployment it runs on the
// server, not on the viewers' machines, but here everything shares the bench machine's cores, and the P2P path
// has no such neighbour. --with-hls keeps it on (the SFU path then competes with it for CPU).
// Options: --duration 20 (seconds measured per path, after a warm-up) or BENCH_DURATION; --no-audio; --with-hls.
// Writes bench/results/latency.json { sfu: {p50, p95, frames}, p2p: {p50, p95, frames} } (milliseconds).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../tests/helpers/browser.ts';
import { startTestServer, type TestServer } from '../tests/helpers/server.ts';
import { createLiveClass } from '../tests/sfu/fixtures.ts';
import { clockCanvas, clockReader } from './_frame-clock.ts';

interface PathResult {
  p50: number;
  p95: number;
  frames: number;
  mean: number;
  max: number;
  width: number;
  height: number;
  /** Where the time goes, from WebRTC statistics over the measured window (averages, ms). */
  breakdown: Breakdown;
}

interface Breakdown {
  /** Sender: encode time per frame of the received resolution's encoding, and how long packets waited in its pacer. */
  encodeMs: number;
  pacerMs: number;
  /** Frames the sender encoded per second over all its encodings (3 simulcast layers count 3 times). */
  encodedFps: number;
  /** Receiver: video jitter buffer delay, decode time per frame, audio jitter buffer delay. */
  videoJitterBufferMs: number;
  decodeMs: number;
  audioJitterBufferMs: number;
  framesDropped: number;
  rttMs: number;
}

/** Runs in every page: keeps the page's RTCPeerConnections so the bench can read their statistics. */
const RECORD_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();`;

/** Cumulative WebRTC counters of a page (summed over its open peer connections). */
type Counters = Record<string, number>;

function snapshot(page: Page, height: number): Promise<Counters> {
  return page.evaluate(async (height) => {
    const c: Record<string, number> = {};
    const add = (k: string, v: unknown): void => {
      if (typeof v === 'number') c[k] = (c[k] ?? 0) + v;
    };
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          add('framesEncodedAll', s.framesEncoded);
          // The encoding the receiver gets: the simulcast layer (or the single stream) of its resolution.
          if ((s.frameHeight ?? 0) >= height * 0.9) {
            add('encodeTime', s.totalEncodeTime);
            add('framesEncoded', s.framesEncoded);
            add('packetSendDelay', s.totalPacketSendDelay);
            add('packetsSent', s.packetsSent);
          }
        } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
          add('vJb', s.jitterBufferDelay);
          add('vJbCount', s.jitterBufferEmittedCount);
          add('decodeTime', s.totalDecodeTime);
          add('framesDecoded', s.framesDecoded);
          add('framesDropped', s.framesDropped);
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          add('aJb', s.jitterBufferDelay);
          add('aJbCount', s.jitterBufferEmittedCount);
        } else if (s.type === 'candidate-pair' && s.nominated && typeof s.currentRoundTripTime === 'number') {
          add('rtt', s.currentRoundTripTime);
          add('rttCount', 1);
        }
      });
    }
    c.at = performance.now();
    return c;
  }, height);
}

function breakdown(sender: [Counters, Counters], receiver: [Counters, Counters]): Breakdown {
  const d = (pair: [Counters, Counters], k: string): number => (pair[1][k] ?? 0) - (pair[0][k] ?? 0);
  const per = (num: number, den: number, scale = 1000): number => (den > 0 ? Math.round((num / den) * scale * 10) / 10 : NaN);
  const seconds = d(sender, 'at') / 1000;
  return {
    encodeMs: per(d(sender, 'encodeTime'), d(sender, 'framesEncoded')),
    pacerMs: per(d(sender, 'packetSendDelay'), d(sender, 'packetsSent')),
    encodedFps: Math.round(d(sender, 'framesEncodedAll') / Math.max(1e-3, seconds)),
    videoJitterBufferMs: per(d(receiver, 'vJb'), d(receiver, 'vJbCount')),
    decodeMs: per(d(receiver, 'decodeTime'), d(receiver, 'framesDecoded')),
    audioJitterBufferMs: per(d(receiver, 'aJb'), d(receiver, 'aJbCount')),
    framesDropped: d(receiver, 'framesDropped'),
    rttMs: per(receiver[1].rtt ?? 0, receiver[1].rttCount ?? 0),
  };
}

const WARMUP_S = 6;

function summarise(samples: number[], size: [number, number], why: Breakdown): PathResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    p50: at(0.5),
    p95: at(0.95),
    frames: sorted.length,
    mean: Math.round((sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)) * 10) / 10,
    max: sorted.at(-1) ?? NaN,
    width: size[0],
    height: size[1],
    breakdown: why,
  };
}

/** Measures on `page` (the receiver); `sender` is the page that encodes (the same page for the P2P path). */
async function measure(page: Page, sender: Page, selector: string, seconds: number, label: string): Promise<PathResult> {
  await page.waitForSelector(selector, { timeout: 30_000 });
  await page.evaluate((sel) => {
    const w = window as unknown as { __reader: unknown; __readClock: (v: HTMLVideoElement) => unknown };
    w.__reader = w.__readClock(document.querySelector(sel) as HTMLVideoElement);
  }, selector);
  process.stderr.write(`  ${label}: warming up ${WARMUP_S} s`);
  await page.waitForTimeout(WARMUP_S * 1000);
  await page.evaluate(() => (window as unknown as { __reader: { start(): void } }).__reader.start());
  const height = await page.evaluate((sel) => (document.querySelector(sel) as HTMLVideoElement).videoHeight, selector);
  const before = await Promise.all([snapshot(sender, height), snapshot(page, height)]);
  for (let s = 0; s < seconds; s += 5) {
    process.stderr.write(`, ${s} s`);
    await page.waitForTimeout(Math.min(5, seconds - s) * 1000);
  }
  process.stderr.write(`, done\n`);
  const { samples, size } = await page.evaluate(() =>
    (window as unknown as { __reader: { stop(): { samples: number[]; size: [number, number] } } }).__reader.stop(),
  );
  const after = await Promise.all([snapshot(sender, height), snapshot(page, height)]);
  return summarise(samples, size, breakdown([before[0], after[0]], [before[1], after[1]]));
}

/** Both receivers show the video the same way: same device scale factor, same CSS width (the classroom's player). */
const RECEIVER_SCALE = 2;

async function sfuPath(
  browser: Browser,
  server: TestServer,
  seconds: number,
  withAudio: boolean,
): Promise<{ result: PathResult; shownWidth: number }> {
  {
    const f = await createLiveClass(server);
    const contextFor = async (cookie: string, scale: number) => {
      const [name, value] = cookie.split('=') as [string, string];
      // deviceScaleFactor 2: the student's video is shown at > 420 device pixels high, so it asks for 720p.
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: scale });
      await context.addCookies([{ name, value, url: server.url }]);
      await context.addInitScript(clockCanvas('gradient'));
      await context.addInitScript(clockReader(5000));
      await context.addInitScript(RECORD_PEER_CONNECTIONS);
      return context;
    };
    const teacherContext = await contextFor(f.teacher.client.cookieHeader, 1);
    // The teacher's camera is the clock canvas (the fake microphone stays).
    await teacherContext.addInitScript(`{
      const md = navigator.mediaDevices, original = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        if (c && c.video) return window.__clockStream();
        if (${JSON.stringify(!withAudio)}) throw new DOMException('no microphone in this run', 'NotFoundError');
        return original(c);
      };
    }`);
    const teacher = await teacherContext.newPage();
    const student = await (await contextFor(f.students[0]!.client.cookieHeader, RECEIVER_SCALE)).newPage();
    await teacher.goto(`${server.url}/studio/${f.classId}`);
    await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await student.goto(`${server.url}/classes/${f.classId}`);
    const result = await measure(student, teacher, '[data-testid="teacher-video"]', seconds, 'sfu');
    const shownWidth = await student.locator('[data-testid="teacher-video"]').evaluate((v) => v.clientWidth);
    await Promise.all([teacher.context().close(), student.context().close()]);
    return { result, shownWidth };
  }
}

/** Runs on a page of the (idle) server only because media capture needs a secure context (127.0.0.1 is one). */
async function p2pPath(browser: Browser, server: TestServer, seconds: number, withAudio: boolean, shownWidth: number): Promise<PathResult> {
  // The receiver renders like the classroom's: same scale factor, the video as wide as the classroom's player.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: RECEIVER_SCALE });
  await context.addInitScript(clockCanvas('gradient'));
  await context.addInitScript(clockReader(5000));
  await context.addInitScript(RECORD_PEER_CONNECTIONS);
  const page = await context.newPage();
  await page.goto(`${server.url}/health`);
  await page.evaluate(
    async ({ withAudio, shownWidth }) => {
      const w = window as unknown as { __clockStream(): MediaStream };
      const stream = w.__clockStream();
      // With audio, as a real call: the fake microphone in the same stream, so the receiver lip-syncs too.
      if (withAudio) stream.addTrack((await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0]!);
      const a = new RTCPeerConnection();
      const b = new RTCPeerConnection();
      a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
      b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      video.id = 'p2p';
      video.style.width = `${shownWidth}px`;
      document.body.append(video);
      const audio = document.createElement('audio');
      audio.autoplay = true;
      document.body.append(audio);
      b.ontrack = (e) => {
        if (e.track.kind === 'audio') {
          audio.srcObject = new MediaStream([e.track]);
          void audio.play();
          return;
        }
        video.srcObject = new MediaStream([e.track]);
        void video.play();
      };
      if (withAudio) a.addTrack(stream.getAudioTracks()[0]!, stream);
      const transceiver = a.addTransceiver(stream.getVideoTracks()[0]!, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: [{ maxBitrate: 1_800_000, maxFramerate: 30 }],
      });
      const vp8 = RTCRtpSender.getCapabilities('video')!.codecs.filter((c) => /VP8|rtx/i.test(c.mimeType));
      transceiver.setCodecPreferences(vp8);
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(a.localDescription!);
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(b.localDescription!);
    },
    { withAudio, shownWidth },
  );
  const result = await measure(page, page, '#p2p', seconds, 'p2p');
  await context.close();
  return result;
}

export default async function latency(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { duration: { type: 'string' }, 'no-audio': { type: 'boolean' }, 'with-hls': { type: 'boolean' } },
  });
  const withHls = !!values['with-hls'];
  const seconds = Math.max(20, Number(values.duration ?? process.env.BENCH_DURATION ?? 20));
  const withAudio = !values['no-audio'] && !process.env.BENCH_NO_AUDIO;
  const [browser, server] = await Promise.all([
    launchChromium(),
    // No ffmpeg found = no HLS bridge (the server says so and carries on with the SFU alone).
    startTestServer({ app: 'build', env: withHls ? {} : { FFMPEG_PATH: path.join(os.tmpdir(), 'lectern-bench-no-ffmpeg') } }),
  ]);
  try {
    process.stderr.write(
      `latency: 1280x720 @ 30 fps, ${seconds} s per path, ${withAudio ? 'with' : 'without'} audio, HLS bridge ${withHls ? 'on' : 'off'}\n`,
    );
    const { result: sfu, shownWidth } = await sfuPath(browser, server, seconds, withAudio);
    const p2p = await p2pPath(browser, server, seconds, withAudio, shownWidth);
    const results = {
      sfu,
      p2p,
      ratioP95: Math.round((sfu.p95 / p2p.p95) * 100) / 100,
      seconds,
      audio: withAudio,
      hlsBridge: withHls,
      loadAverage: os.loadavg(),
      at: new Date().toISOString(),
    };
    const table = [sfu, p2p].map((r, i) => ({
      path: i === 0 ? 'sfu' : 'p2p',
      'p50 ms': r.p50,
      'p95 ms': r.p95,
      'mean ms': r.mean,
      'max ms': r.max,
      frames: r.frames,
      received: `${r.width}x${r.height}`,
    }));
    console.table(table);
    console.table(
      Object.fromEntries(
        [
          ['sfu', sfu],
          ['p2p', p2p],
        ].map(([name, r]) => {
          const b = (r as PathResult).breakdown;
          return [
            name as string,
            {
              'encode ms': b.encodeMs,
              'pacer ms': b.pacerMs,
              'encoded fps': b.encodedFps,
              'video jb ms': b.videoJitterBufferMs,
              'decode ms': b.decodeMs,
              'audio jb ms': b.audioJitterBufferMs,
              dropped: b.framesDropped,
              'rtt ms': b.rttMs,
            },
          ];
        }),
      ),
    );
    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    console.log(`load average during the run: ${load} (${os.availableParallelism()} cores)`);
    console.log(`SFU/P2P p95 ratio: ${results.ratioP95} (targets: SFU p95 <= 150 ms, ratio <= 1.15)`);
    const out = path.join(import.meta.dirname, 'results', 'latency.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await browser.close();
    await server.stop();
  }
}
