// Glass-to-glass latency of a live class: the teacher's "camera" is a 1280x720 canvas at 30 fps whose frames
// carry the time they were drawn (32 black/white blocks); the student's page reads the time back out of each
// decoded frame as it is presented. All pages run in one Chromium, so they share a clock. Paths, same run:
//   sfu:        the product: studio -> mediasoup -> classroom, camera as 3 simulcast layers, the student on the
//               top layer, the server's HLS bridge (an x264 ladder in ffmpeg) on, as every deployment runs it
//   sfuSingle:  the same with the camera sent as one stream (LECTERN_CAMERA_LAYERS=1), the encoding P2P uses:
//               what the SFU itself adds, apart from the cost of encoding three layers on the same 2 cores
//   sfuHlsOff:  the product path with the HLS bridge off (no ffmpeg on the bench's cores): the bridge's cost
//   p2p:        two RTCPeerConnections in one page, no server (the floor the SFU is compared with)
// Receivers render alike: device scale factor 2, the video as wide as the classroom's player (at that size the
// student asks for the 720p layer). Audio rides along (the fake microphone, lip sync on, as in a real class);
// --no-audio measures video alone.
// --impair "delay=20ms,loss=1%[,jitter=5ms]" puts a userspace UDP relay (_impair-relay.ts) between the
// student's page and the server (for P2P: between the two peer connections), delaying and dropping each way,
// and measures sfu and p2p (or --paths) with freezes and NACK/PLI/RTX counts (the student's, without
// mediasoup-client's probator) and the relay's own drops. SFU paths add the server's view of the student's
// video consumer (_sfu-probe.ts: layer switches, bandwidth estimate, key frame requests, retransmissions).
// Other options: --duration 20 (seconds per path after a warm-up, or BENCH_DURATION), --paths sfu,p2p,
// --dtx on|off (Opus DTX on the microphone forced on every path, instead of as the product sets it).
// Writes bench/results/latency.json ({sfu, sfuSingle, p2p, sfuHlsOff}: {p50, p95, frames} in ms) or, impaired,
// bench/results/latency-impaired.json ({impair, sfu, p2p}: {p50, p95, frames, freezesOver500ms, freezesOver1s}).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../tests/helpers/browser.ts';
import { startTestServer, type TestServer } from '../tests/helpers/server.ts';
import { RECORD_PEER_CONNECTIONS } from '../tests/helpers/webrtc-stats.ts';
import { createLiveClass } from '../tests/sfu/fixtures.ts';
import { clockCanvas, clockReader } from './_frame-clock.ts';
import { SfuProbe, type SfuProbeResult } from './_sfu-probe.ts';
import { describeImpairment, ImpairRelay, parseImpairment, type Impairment, type RelayCounters } from './_impair-relay.ts';

const PATHS = ['sfu', 'sfuSingle', 'sfuHlsOff', 'p2p'] as const;
type PathName = (typeof PATHS)[number];

interface PathResult {
  p50: number;
  p95: number;
  frames: number;
  mean: number;
  max: number;
  /** Gaps between presented frames longer than 500 ms / 1 s over the measured window. */
  freezesOver500ms: number;
  freezesOver1s: number;
  longestGapMs: number;
  width: number;
  height: number;
  breakdown: Breakdown;
  relay?: RelayCounters;
  /** SFU paths: the server's view of the student's video consumer. */
  server?: SfuProbeResult;
}

interface Breakdown {
  /** Sender: encode time per frame of the received resolution's encoding, and how long packets waited in its pacer. */
  encodeMs: number;
  pacerMs: number;
  /** Frames the sender encoded per second over all its encodings (3 simulcast layers count 3 times). */
  encodedFps: number;
  /** Receiver: video jitter buffer delay, decode time per frame. */
  videoJitterBufferMs: number;
  /** The lowest video delay the receiver could reach on this network; the buffer above it is smoothing and lip sync. */
  videoMinimumMs: number;
  decodeMs: number;
  /**
   * Receiver audio: jitter buffer delay, NetEq's target (with lip sync and any jitterBufferTarget) and the lowest
   * delay the network alone allows (target = minimum: nothing held the audio back).
   */
  audioJitterBufferMs: number;
  audioTargetMs: number;
  audioMinimumMs: number;
  /** Share of audio samples concealed (lost or late), percent. */
  audioConcealedPct: number;
  framesDropped: number;
  rttMs: number;
  /** Video repair traffic over the window: NACKs and PLIs the receiver sent, retransmissions it got. */
  nack: number;
  pli: number;
  rtx: number;
  /** Video packets the receiver counted lost (after repair), percent of expected. */
  videoLossPct: number;
  /** Key frames: requests (PLI) that reached the sender, key frames it encoded (all layers), key frames decoded. */
  senderPli: number;
  keyFramesEncoded: number;
  keyFramesDecoded: number;
}

/** Runs in the receiving page: the gaps between presented frames of a video, for freezes. */
const GAP_WATCH = `window.__watchGaps = (video) => {
  let last = 0, recording = false;
  const gaps = [];
  const onFrame = (now) => {
    if (recording && last) gaps.push(now - last);
    last = now;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return {
    start() { recording = true; gaps.length = 0; last = 0; },
    stop() { recording = false; if (last) gaps.push(performance.now() - last); return gaps.slice(); },
  };
};`;

/** Runs in the impaired student's page: the server's UDP candidate becomes the relay's; TCP candidates go. */
const THROUGH_RELAY = (serverPort: number, relayPort: number): string => `(() => {
  const rewrite = (sdp) => sdp.split('\\r\\n').filter((l) => !(l.startsWith('a=candidate:') && / tcp /i.test(l)))
    .map((l) => l.startsWith('a=candidate:') ? l.replace(' ${serverPort} typ', ' ${relayPort} typ') : l).join('\\r\\n');
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (d) {
    return original.call(this, d && d.sdp ? { type: d.type, sdp: rewrite(d.sdp) } : d);
  };
})();`;

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
          add('keyFramesEncoded', s.keyFramesEncoded);
          add('pliReceived', s.pliCount);
          if ((s.frameHeight ?? 0) >= height * 0.9) {
            add('encodeTime', s.totalEncodeTime);
            add('framesEncoded', s.framesEncoded);
            add('packetSendDelay', s.totalPacketSendDelay);
            add('packetsSent', s.packetsSent);
          }
        } else if (s.type === 'inbound-rtp' && s.kind === 'video' && s.mid !== 'probator') {
          // (mediasoup-client's probator receives the server's bandwidth probes: padding only, never a frame,
          // so Chrome keeps asking it for a key frame; its PLIs, NACKs and losses are not the video's.)
          add('vJb', s.jitterBufferDelay);
          add('vJbCount', s.jitterBufferEmittedCount);
          add('vJbMin', s.jitterBufferMinimumDelay);
          add('decodeTime', s.totalDecodeTime);
          add('framesDecoded', s.framesDecoded);
          add('keyFramesDecoded', s.keyFramesDecoded);
          add('framesDropped', s.framesDropped);
          add('nack', s.nackCount);
          add('pli', s.pliCount);
          add('rtx', s.retransmittedPacketsReceived);
          add('vLost', s.packetsLost);
          add('vReceived', s.packetsReceived);
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          add('aJb', s.jitterBufferDelay);
          add('aJbTarget', s.jitterBufferTargetDelay);
          add('aJbMin', s.jitterBufferMinimumDelay);
          add('aJbCount', s.jitterBufferEmittedCount);
          add('aConcealed', s.concealedSamples);
          add('aSamples', s.totalSamplesReceived);
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
    videoMinimumMs: per(d(receiver, 'vJbMin'), d(receiver, 'vJbCount')),
    decodeMs: per(d(receiver, 'decodeTime'), d(receiver, 'framesDecoded')),
    audioJitterBufferMs: per(d(receiver, 'aJb'), d(receiver, 'aJbCount')),
    audioTargetMs: per(d(receiver, 'aJbTarget'), d(receiver, 'aJbCount')),
    audioMinimumMs: per(d(receiver, 'aJbMin'), d(receiver, 'aJbCount')),
    audioConcealedPct: per(d(receiver, 'aConcealed'), d(receiver, 'aSamples'), 100),
    framesDropped: d(receiver, 'framesDropped'),
    rttMs: per(receiver[1].rtt ?? 0, receiver[1].rttCount ?? 0),
    nack: d(receiver, 'nack'),
    pli: d(receiver, 'pli'),
    rtx: d(receiver, 'rtx'),
    videoLossPct: per(d(receiver, 'vLost'), d(receiver, 'vLost') + d(receiver, 'vReceived'), 100),
    senderPli: d(sender, 'pliReceived'),
    keyFramesEncoded: d(sender, 'keyFramesEncoded'),
    keyFramesDecoded: d(receiver, 'keyFramesDecoded'),
  };
}

const WARMUP_S = 6;

function summarise(samples: number[], gaps: number[], size: [number, number], why: Breakdown): PathResult {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    p50: at(0.5),
    p95: at(0.95),
    frames: sorted.length,
    mean: Math.round((sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)) * 10) / 10,
    max: sorted.at(-1) ?? NaN,
    freezesOver500ms: gaps.filter((g) => g > 500).length,
    freezesOver1s: gaps.filter((g) => g > 1000).length,
    longestGapMs: Math.round(Math.max(0, ...gaps)),
    width: size[0],
    height: size[1],
    breakdown: why,
  };
}

/** Measures on `page` (the receiver); `sender` is the page that encodes (the same page for the P2P path). */
async function measure(
  page: Page,
  sender: Page,
  selector: string,
  seconds: number,
  label: string,
  probeOf?: () => SfuProbe,
): Promise<PathResult> {
  await page.waitForSelector(selector, { timeout: 30_000 });
  await page.evaluate((sel) => {
    const w = window as unknown as Record<string, (v: HTMLVideoElement) => unknown>;
    const video = document.querySelector(sel) as HTMLVideoElement;
    w.__reader = w.__readClock!(video) as never;
    w.__gaps = w.__watchGaps!(video) as never;
  }, selector);
  process.stderr.write(`  ${label}: warming up ${WARMUP_S} s`);
  await page.waitForTimeout(WARMUP_S * 1000);
  await page.evaluate(() => {
    const w = window as unknown as { __reader: { start(): void }; __gaps: { start(): void } };
    w.__reader.start();
    w.__gaps.start();
  });
  const height = await page.evaluate((sel) => (document.querySelector(sel) as HTMLVideoElement).videoHeight, selector);
  const before = await Promise.all([snapshot(sender, height), snapshot(page, height)]);
  const probe = probeOf?.();
  await probe?.start();
  for (let s = 0; s < seconds; s += 5) {
    process.stderr.write(`, ${s} s`);
    await page.waitForTimeout(Math.min(5, seconds - s) * 1000);
  }
  process.stderr.write(`, done\n`);
  const { samples, size, gaps } = await page.evaluate(() => {
    const w = window as unknown as {
      __reader: { stop(): { samples: number[]; size: [number, number] } };
      __gaps: { stop(): number[] };
    };
    return { ...w.__reader.stop(), gaps: w.__gaps.stop() };
  });
  const after = await Promise.all([snapshot(sender, height), snapshot(page, height)]);
  const server = await probe?.stop();
  return { ...summarise(samples, gaps, size, breakdown([before[0], after[0]], [before[1], after[1]])), ...(server ? { server } : {}) };
}

/** Both receivers show the video the same way: same device scale factor, same CSS width (the classroom's player). */
const RECEIVER_SCALE = 2;

async function pageContext(browser: Browser, scale: number, scripts: string[]): Promise<BrowserContext> {
  // deviceScaleFactor 2: the student's video is shown at > 420 device pixels high, so it asks for 720p.
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: scale });
  for (const script of [clockCanvas('gradient'), clockReader(5000), GAP_WATCH, RECORD_PEER_CONNECTIONS, ...scripts]) {
    await context.addInitScript(script);
  }
  return context;
}

/** The UDP port of the server's WebRtcServer (the bench's server has one worker). */
async function webRtcUdpPort(server: TestServer): Promise<number> {
  const dump = await server.workers.all()[0]!.webRtcServer.dump();
  return dump.udpSockets[0]!.port;
}

async function sfuPath(
  browser: Browser,
  server: TestServer,
  o: RunOptions,
  label: string,
): Promise<{ result: PathResult; shownWidth: number }> {
  const f = await createLiveClass(server);
  const withCookie = async (context: BrowserContext, cookie: string): Promise<BrowserContext> => {
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: server.url }]);
    return context;
  };
  // The teacher's camera is the clock canvas (the fake microphone stays).
  const teacherContext = await withCookie(
    await pageContext(browser, 1, [
      `{
      const md = navigator.mediaDevices, original = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        if (c && c.video) return window.__clockStream();
        if (${JSON.stringify(!o.withAudio)}) throw new DOMException('no microphone in this run', 'NotFoundError');
        return original(c);
      };
    }`,
      ...(o.dtx === 'product' ? [] : [FORCE_DTX(o.dtx === 'on')]),
    ]),
    f.teacher.client.cookieHeader,
  );
  let relayPort: number | undefined;
  if (o.relay) relayPort = await o.relay.map('127.0.0.1', await webRtcUdpPort(server));
  const studentScripts = relayPort ? [THROUGH_RELAY(await webRtcUdpPort(server), relayPort)] : [];
  const studentContext = await withCookie(await pageContext(browser, RECEIVER_SCALE, studentScripts), f.students[0]!.client.cookieHeader);
  const teacher = await teacherContext.newPage();
  const student = await studentContext.newPage();
  await teacher.goto(`${server.url}/studio/${f.classId}`);
  await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
  await student.goto(`${server.url}/classes/${f.classId}`);
  const before = await o.relay?.counters();
  const result = await measure(student, teacher, '[data-testid="teacher-video"]', o.seconds, label, () =>
    SfuProbe.find(server.rooms.get(f.classId)!),
  );
  if (o.relay && before) result.relay = relayDelta(before, await o.relay.counters());
  const shownWidth = await student.locator('[data-testid="teacher-video"]').evaluate((v) => v.clientWidth);
  await Promise.all([teacherContext.close(), studentContext.close()]);
  return { result, shownWidth };
}

function relayDelta(a: RelayCounters, b: RelayCounters): RelayCounters {
  return {
    up: { sent: b.up.sent - a.up.sent, dropped: b.up.dropped - a.up.dropped },
    down: { sent: b.down.sent - a.down.sent, dropped: b.down.dropped - a.down.dropped },
    overflow: b.overflow - a.overflow,
  };
}

/** Runs on a page of the server only because media capture needs a secure context (127.0.0.1 is one). */
async function p2pPath(browser: Browser, server: TestServer, o: RunOptions, shownWidth: number): Promise<PathResult> {
  const context = await pageContext(browser, RECEIVER_SCALE, o.dtx === 'product' ? [] : [FORCE_DTX(o.dtx === 'on')]);
  const page = await context.newPage();
  const relay = o.relay;
  if (relay) await page.exposeFunction('__impairMap', (host: string, port: number) => relay.map(host, port));
  await page.goto(`${server.url}/health`);
  const before = await relay?.counters();
  await page.evaluate(
    async ({ withAudio, shownWidth, impaired }) => {
      const w = window as unknown as { __clockStream(): MediaStream; __impairMap(host: string, port: number): Promise<number> };
      const stream = w.__clockStream();
      // With audio, as a real call: the fake microphone in the same stream, so the receiver lip-syncs too.
      if (withAudio) stream.addTrack((await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0]!);
      const a = new RTCPeerConnection();
      const b = new RTCPeerConnection();
      a.onicecandidate = (e) => {
        if (!e.candidate) return;
        if (!impaired) return void b.addIceCandidate(e.candidate);
        // Impaired: b only learns a's UDP candidates, each through the relay; a learns b from b's checks
        // (arriving from the relay), so every packet crosses the relay.
        const c = e.candidate;
        if (c.protocol !== 'udp' || !c.address || c.address.includes(':') || c.address.endsWith('.local')) return;
        void w.__impairMap(c.address, c.port!).then((relayPort) =>
          b.addIceCandidate({
            candidate: c.candidate.replace(` ${c.address} ${c.port} `, ` 127.0.0.1 ${relayPort} `),
            sdpMid: c.sdpMid,
            sdpMLineIndex: c.sdpMLineIndex,
          }),
        );
      };
      b.onicecandidate = (e) => {
        if (e.candidate && !impaired) void a.addIceCandidate(e.candidate);
      };
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
    { withAudio: o.withAudio, shownWidth, impaired: !!relay },
  );
  const result = await measure(page, page, '#p2p', o.seconds, 'p2p');
  if (relay && before) result.relay = relayDelta(before, await relay.counters());
  await context.close();
  return result;
}

interface RunOptions {
  seconds: number;
  withAudio: boolean;
  relay: ImpairRelay | undefined;
  /** Opus DTX on the microphone: as the product sets it ('product'), or forced on/off on every path. */
  dtx: 'product' | 'on' | 'off';
}

/** Runs in a sending page: the remote description tells its Opus encoder to use DTX or not. */
const FORCE_DTX = (on: boolean): string => `(() => {
  const original = RTCPeerConnection.prototype.setRemoteDescription;
  const munge = (sdp) => sdp.replace(/^(a=fmtp:\\d+ [^\\r\\n]*useinbandfec=1[^\\r\\n]*)$/gm, (line) =>
    line.replace(/(;)?usedtx=\\d(;)?/, (m, a, b) => (a && b ? ';' : '')) + ';usedtx=${on ? 1 : 0}');
  RTCPeerConnection.prototype.setRemoteDescription = function (d) {
    return original.call(this, d && d.sdp && d.type === 'answer' ? { type: d.type, sdp: munge(d.sdp) } : d);
  };
})();`;

/** The server each SFU variant runs against: the product's settings but for what the variant changes. */
function serverEnv(name: PathName): Record<string, string> {
  return {
    ...(name === 'sfuSingle' ? { LECTERN_CAMERA_LAYERS: '1' } : {}),
    // No ffmpeg found = no HLS bridge (the server says so and carries on with the SFU alone).
    ...(name === 'sfuHlsOff' ? { FFMPEG_PATH: path.join(os.tmpdir(), 'lectern-bench-no-ffmpeg') } : {}),
  };
}

export default async function latency(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      'no-audio': { type: 'boolean' },
      impair: { type: 'string' },
      paths: { type: 'string' },
      dtx: { type: 'string' },
    },
  });
  const impairment: Impairment | undefined = values.impair ? parseImpairment(values.impair) : undefined;
  const paths = (values.paths?.split(',') ?? (impairment ? ['sfu', 'p2p'] : [...PATHS])) as PathName[];
  for (const p of paths) if (!PATHS.includes(p)) throw new Error(`--paths: unknown path "${p}" (${PATHS.join(', ')})`);
  const seconds = Math.max(20, Number(values.duration ?? process.env.BENCH_DURATION ?? 20));
  const withAudio = !values['no-audio'] && !process.env.BENCH_NO_AUDIO;
  // Host candidates as addresses, not mDNS names: the P2P relay must know where to send.
  const browser = await launchChromium(['--disable-features=WebRtcHideLocalIpsWithMdns']);
  const relay = impairment ? await ImpairRelay.start(impairment) : undefined;
  const dtx = (values.dtx ?? 'product') as RunOptions['dtx'];
  if (!['product', 'on', 'off'].includes(dtx)) throw new Error('--dtx: on, off or product');
  const o: RunOptions = { seconds, withAudio, relay, dtx };
  const results: Partial<Record<PathName, PathResult>> = {};
  const loads: number[] = [];
  try {
    process.stderr.write(
      `latency: 1280x720 @ 30 fps, ${seconds} s per path, ${withAudio ? 'with' : 'without'} audio (DTX ${dtx}), paths ${paths.join(', ')}` +
        `${impairment ? `, impaired ${describeImpairment(impairment)} each way (student side)` : ''}\n`,
    );
    let shownWidth = 1000;
    for (const name of paths.filter((p) => p !== 'p2p')) {
      const server = await startTestServer({ app: 'build', env: serverEnv(name) });
      try {
        const run = await sfuPath(browser, server, o, name);
        results[name] = run.result;
        shownWidth = run.shownWidth;
        loads.push(os.loadavg()[0]!);
      } finally {
        await server.stop();
      }
    }
    if (paths.includes('p2p')) {
      const server = await startTestServer({ app: 'build', env: serverEnv('sfuHlsOff') });
      try {
        results.p2p = await p2pPath(browser, server, o, shownWidth);
        loads.push(os.loadavg()[0]!);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await relay?.close();
    await browser.close();
  }

  const rows = Object.entries(results) as [PathName, PathResult][];
  console.table(
    Object.fromEntries(
      rows.map(([name, r]) => [
        name,
        {
          'p50 ms': r.p50,
          'p95 ms': r.p95,
          'mean ms': r.mean,
          'max ms': r.max,
          frames: r.frames,
          'freezes >500ms': r.freezesOver500ms,
          'freezes >1s': r.freezesOver1s,
          received: `${r.width}x${r.height}`,
        },
      ]),
    ),
  );
  console.table(
    Object.fromEntries(
      rows.map(([name, { breakdown: b }]) => [
        name,
        {
          'encode ms': b.encodeMs,
          'pacer ms': b.pacerMs,
          'encoded fps': b.encodedFps,
          'video jb ms': b.videoJitterBufferMs,
          'video min ms': b.videoMinimumMs,
          'decode ms': b.decodeMs,
          'audio jb ms': b.audioJitterBufferMs,
          'audio target ms': b.audioTargetMs,
          'audio min ms': b.audioMinimumMs,
          'audio concealed %': b.audioConcealedPct,
          'rtt ms': b.rttMs,
          nack: b.nack,
          pli: b.pli,
          rtx: b.rtx,
          'video loss %': b.videoLossPct,
          'PLI at sender': b.senderPli,
          'key frames enc/dec': `${b.keyFramesEncoded}/${b.keyFramesDecoded}`,
        },
      ]),
    ),
  );
  for (const [name, { relay: r }] of rows) {
    if (!r) continue;
    const pct = (l: { sent: number; dropped: number }): string => ((l.dropped / Math.max(1, l.sent + l.dropped)) * 100).toFixed(1);
    console.log(
      `${name} relay: up ${r.up.sent} sent, ${r.up.dropped} dropped (${pct(r.up)} %); down ${r.down.sent} sent, ` +
        `${r.down.dropped} dropped (${pct(r.down)} %); ${r.overflow} lost to the relay's full socket buffers`,
    );
  }
  const probed = rows.filter(([, r]) => r.server);
  if (probed.length) {
    console.table(
      Object.fromEntries(
        probed.map(([name, { server: v }]) => [
          name,
          {
            'spatial/temporal switches': `${v!.spatialSwitches}/${v!.temporalSwitches}`,
            'lowest/end layer': `${v!.lowestSpatialLayer}/${v!.endSpatialLayer}`,
            'BWE min/mean kb/s': `${v!.bweMinKbps}/${v!.bweMeanKbps}`,
            'PLI from student': v!.pliFromStudent,
            'PLI to teacher': v!.pliToTeacher,
            'NACK from student': v!.nackFromStudent,
            retransmitted: v!.retransmitted,
            'packets sent': v!.sent,
          },
        ]),
      ),
    );
  }
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `load average at the end: ${load}; 1-minute load after each path: ${loads.map((l) => l.toFixed(1)).join(', ')} (${os.availableParallelism()} cores)`,
  );
  const ratio = (a?: PathResult, b?: PathResult): number | undefined => (a && b ? Math.round((a.p95 / b.p95) * 100) / 100 : undefined);
  const common = { seconds, audio: withAudio, dtx, loadAverage: os.loadavg(), loadAfterEachPath: loads, at: new Date().toISOString() };
  let out: string;
  let json: unknown;
  if (impairment) {
    const goal = results.sfu ? `SFU p95 ${results.sfu.p95} ms (goal <= 250), freezes > 1 s: ${results.sfu.freezesOver1s} (goal 0)` : '';
    console.log(`impaired ${describeImpairment(impairment)} each way. ${goal}`);
    out = path.join(import.meta.dirname, 'results', 'latency-impaired.json');
    json = { impair: describeImpairment(impairment), ...results, ...common };
  } else {
    console.log(
      `p95 ratios: sfu/p2p ${ratio(results.sfu, results.p2p)}, sfuSingle/p2p ${ratio(results.sfuSingle, results.p2p)}, ` +
        `sfu/sfuHlsOff ${ratio(results.sfu, results.sfuHlsOff)} (targets: SFU p95 <= 150 ms, sfuSingle/p2p <= 1.15)`,
    );
    out = path.join(import.meta.dirname, 'results', 'latency.json');
    json = {
      ...results,
      ratioP95: {
        sfuToP2p: ratio(results.sfu, results.p2p),
        sfuSingleToP2p: ratio(results.sfuSingle, results.p2p),
        sfuToHlsOff: ratio(results.sfu, results.sfuHlsOff),
      },
      ...common,
    };
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
