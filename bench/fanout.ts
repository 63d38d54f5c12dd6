// Fan-out benchmark: how many students one mediasoup worker core carries for one teacher.
//   Teacher: a werift peer publishing over a real WebRtcTransport (ICE/DTLS/SRTP) into a real ClassroomRoom
//   the studio's camera encodings (3-layer VP8 simulcast 320x180@15/150k, 640x360@30/500k, 1280x720@30/1.8M)
//   and Opus; the media are libvpx/libopus encodings replayed by ffmpeg (bench/_fanout-media.ts), so the
//   teacher answers NACKs (werift's send cache) but not PLIs (key frames come every 2 s).
//   Students (--receivers native, the default): a second mediasoup worker on the clients' core, one transport
//   and two producers per student doing ICE, DTLS, SRTP and receiver feedback in C++
//   (bench/_fanout-native-receivers.ts says what they do and don't); --receivers werift: werift peers in
//   worker threads (bench/_fanout-receivers.ts), which fall behind at a few dozen students on one core.
//   Each student has its own WebRtcTransport on the SFU worker's WebRtcServer and a video and an audio consumer made by
//   ClassroomRoom.consume, resumed and asked for --layer (default 2, the full-size view the class page asks
//   for at a height over 420 px).
//   The mediasoup worker is pinned to CPU 0 (taskset), this process (teacher, receivers) and ffmpeg to CPU 1.
// Ramp: --start students, then +--step, each step settling --settle s and measuring --window s, until the
// receivers lose more than 1 %, the worker's core passes 95 %, the receivers' core falls behind (event loop
// p99 over 100 ms: they can no longer tell the SFU's loss from their own), or --max students.
// Per step: consumers on the worker, its CPU (getResourceUsage and /proc/<pid>/stat, 100 = one core), egress
// (the students' transports' bytesSent), loss and late packets at the receivers, NACKs they sent, the layers
// the consumers send, both cores' busy time (the machine is shared), and the receivers' event-loop delay.
// Writes bench/results/fanout.json { consumersPerCore, studentsPerCore, lossPercent, steps, ... }.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { types } from 'mediasoup';
import * as werift from 'werift';
import { createLogger } from '../server/log.ts';
import { ClassroomRoom } from '../server/sfu/classroom-room.ts';
import { LocalClassSeats } from '../server/sfu/class-seats.ts';
import { WorkerPool } from '../server/sfu/worker-pool.ts';
import { AUDIO_KBPS, CAMERA_LAYERS, encodedClips, replayAsRtp } from './_fanout-media.ts';
import { NativeReceivers } from './_fanout-native-receivers.ts';
import type { ReceiversReply, ReceiversRequest, ReceiversWindow, StreamFigures } from './_fanout-receivers.ts';

const CLK_TICKS = 100; // Linux USER_HZ
const SFU_CPU = 0;
const CLIENT_CPU = 1;
const OPUS_PT = 111;
const VP8_PT = 96;

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function procCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TICKS;
}

/** Busy and total jiffies of each core (/proc/stat), to show what else ran on them. */
function coreTimes(): { busy: number; total: number }[] {
  return fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const v = l.trim().split(/\s+/).slice(1).map(Number);
      const idle = v[3]! + v[4]!;
      const total = v.reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    });
}

function sdpAll(sdp: string, name: string): string[] {
  return [...sdp.matchAll(new RegExp(`^a=${name}:(.*)$`, 'gm'))].map((m) => m[1]!.trim());
}

function fingerprintOf(sdp: string): types.DtlsFingerprint {
  const fp = sdpAll(sdp, 'fingerprint').find((f) => f.toLowerCase().startsWith('sha-256 '));
  if (!fp) throw new Error('no sha-256 fingerprint in the werift SDP');
  return { algorithm: 'sha-256', value: fp.split(' ')[1]! };
}

/** The transport part of an m-section on the SFU's side (ICE-lite, everything bundled on one transport). */
function transportLines(transport: types.WebRtcTransport, setup: string): string[] {
  const fp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256')!;
  return [
    'c=IN IP4 127.0.0.1',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
    `a=ice-pwd:${transport.iceParameters.password}`,
    `a=fingerprint:sha-256 ${fp.value}`,
    `a=setup:${setup}`,
    ...transport.iceCandidates
      .filter((c) => c.protocol === 'udp')
      .map((c) => `a=candidate:${c.foundation} 1 udp ${c.priority} ${c.address} ${c.port} typ host`),
    'a=end-of-candidates',
  ];
}

function sessionSdp(mids: string[], sections: string[][]): string {
  const head = [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS *',
  ];
  return [...head, ...sections.flat()].join('\r\n') + '\r\n';
}

/** What a browser-like mediasoup-client SDP offers a student for its consumers (sendonly from the SFU). */
function consumerOffer(transport: types.WebRtcTransport, consumers: types.Consumer[]): string {
  const port = transport.iceCandidates[0]!.port;
  const sections = consumers.map((c) => {
    const p = c.rtpParameters;
    const enc = p.encodings![0]!;
    const lines = [`m=${c.kind} ${port} UDP/TLS/RTP/SAVPF ${p.codecs.map((k) => k.payloadType).join(' ')}`, `a=mid:${p.mid}`, 'a=sendonly'];
    lines.push(...transportLines(transport, 'actpass'));
    for (const k of p.codecs) {
      const [, name] = k.mimeType.split('/');
      lines.push(`a=rtpmap:${k.payloadType} ${name}/${k.clockRate}${k.channels && k.channels > 1 ? `/${k.channels}` : ''}`);
      const params = Object.entries(k.parameters ?? {}).map(([key, v]) => `${key}=${String(v)}`);
      if (params.length) lines.push(`a=fmtp:${k.payloadType} ${params.join(';')}`);
      for (const fb of k.rtcpFeedback ?? []) lines.push(`a=rtcp-fb:${k.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
    }
    for (const h of p.headerExtensions ?? []) lines.push(`a=extmap:${h.id} ${h.uri}`);
    const cname = p.rtcp?.cname ?? 'teacher';
    lines.push(`a=msid:teacher ${c.id}`);
    if (enc.rtx) lines.push(`a=ssrc-group:FID ${enc.ssrc} ${enc.rtx.ssrc}`);
    lines.push(`a=ssrc:${enc.ssrc} cname:${cname}`);
    if (enc.rtx) lines.push(`a=ssrc:${enc.rtx.ssrc} cname:${cname}`);
    return lines;
  });
  return sessionSdp(
    consumers.map((c) => c.rtpParameters.mid!),
    sections,
  );
}

/** What the werift receivers decode: Opus, VP8 with RTX; NACK, PLI and transport-cc; MID and transport-cc sequence numbers. */
function receiverCapabilities(router: types.Router): types.RtpCapabilities {
  const all = router.rtpCapabilities;
  const vp8 = all.codecs!.find((c) => c.mimeType === 'video/VP8')!;
  const keepFeedback = (c: types.RtpCodecCapability) =>
    (c.rtcpFeedback ?? []).filter((f) => (f.type === 'nack' && (!f.parameter || f.parameter === 'pli')) || f.type === 'transport-cc');
  const codecs = all
    .codecs!.filter(
      (c) => c.mimeType === 'audio/opus' || c === vp8 || (c.mimeType === 'video/rtx' && c.parameters?.apt === vp8.preferredPayloadType),
    )
    .map((c) => ({ ...c, rtcpFeedback: keepFeedback(c) }));
  const uris = new Set([
    'urn:ietf:params:rtp-hdrext:sdes:mid',
    'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  ]);
  return { codecs, headerExtensions: (all.headerExtensions ?? []).filter((h) => uris.has(h.uri)) };
}

/** The teacher: one werift peer sending the replayed camera layers and Opus into the room. */
async function publishTeacher(room: ClassroomRoom, pinned: boolean) {
  const peer = room.addPeer({ id: 'teacher', userId: 'teacher', displayName: 'Teacher', role: 'teacher' });
  const transport = await room.createWebRtcTransport(peer, 'send');
  const pc = new werift.RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    iceUseTcp: false,
    codecs: {
      audio: [new werift.RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PT })],
      video: [
        new werift.RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90000,
          payloadType: VP8_PT,
          rtcpFeedback: [werift.useNACK(), werift.usePLI()],
        }),
      ],
    },
    headerExtensions: { audio: [], video: [] },
  });
  const tracks = [
    new werift.MediaStreamTrack({ kind: 'audio' }),
    ...CAMERA_LAYERS.map(() => new werift.MediaStreamTrack({ kind: 'video' })),
  ];
  const senders = tracks.map((t) => pc.addTransceiver(t, { direction: 'sendonly' }).sender);
  await pc.setLocalDescription(await pc.createOffer());
  const offer = pc.localDescription!.sdp;
  const mids = sdpAll(offer, 'mid');
  const answer = sessionSdp(
    mids,
    mids.map((mid, i) => [
      i === 0
        ? `m=audio ${transport.iceCandidates[0]!.port} UDP/TLS/RTP/SAVPF ${OPUS_PT}`
        : `m=video ${transport.iceCandidates[0]!.port} UDP/TLS/RTP/SAVPF ${VP8_PT}`,
      `a=mid:${mid}`,
      'a=recvonly',
      ...transportLines(transport, 'passive'),
      i === 0 ? `a=rtpmap:${OPUS_PT} opus/48000/2` : `a=rtpmap:${VP8_PT} VP8/90000`,
      ...(i === 0 ? [] : [`a=rtcp-fb:${VP8_PT} nack`, `a=rtcp-fb:${VP8_PT} nack pli`]),
    ]),
  );
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await transport.connect({ dtlsParameters: { role: 'client', fingerprints: [fingerprintOf(offer)] } });
  const mic = await room.produce(
    peer,
    transport.id,
    'audio',
    {
      codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }],
      encodings: [{ ssrc: senders[0]!.ssrc }],
      rtcp: { cname: 'teacher' },
    },
    'mic',
  );
  const camera = await room.produce(
    peer,
    transport.id,
    'video',
    {
      codecs: [
        {
          mimeType: 'video/VP8',
          payloadType: VP8_PT,
          clockRate: 90000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        },
      ],
      encodings: CAMERA_LAYERS.map((l, i) => ({ ssrc: senders[i + 1]!.ssrc, maxBitrate: l.kbps * 1000 })),
      rtcp: { cname: 'teacher' },
    },
    'camera',
  );
  // ffmpeg's RTP into the werift tracks (werift sets the SSRC, payload type and keeps a NACK cache).
  const sockets = await Promise.all(
    tracks.map(
      (track) =>
        new Promise<dgram.Socket>((resolve) => {
          const s = dgram.createSocket('udp4');
          s.on('message', (msg) => track.writeRtp(msg));
          s.bind(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  // ffmpeg's outputs: the video layers first, then audio.
  const ports = [...sockets.slice(1), sockets[0]!].map((s) => s.address().port);
  const ffmpeg = replayAsRtp(encodedClips(), ports, pinned ? CLIENT_CPU : undefined);
  const close = () => {
    ffmpeg.kill('SIGKILL');
    for (const s of sockets) s.close();
    void pc.close();
  };
  return { camera, mic, ffmpeg, close };
}

class ReceiverThreads {
  readonly #threads: Worker[];
  readonly #pending = new Map<string, (r: ReceiversReply) => void>();
  #seq = 0;

  constructor(count: number) {
    this.#threads = Array.from({ length: count }, () => new Worker(new URL('./_fanout-receivers.ts', import.meta.url)));
    for (const t of this.#threads) {
      t.on('message', (m: ReceiversReply) => {
        const key = m.type === 'window' ? `window:${m.seq}:${this.#threads.indexOf(t)}` : `add:${m.id}`;
        this.#pending.get(key)?.(m);
        this.#pending.delete(key);
      });
      t.on('error', (err) => {
        console.error('fanout: receiver thread failed', err);
        process.exit(1);
      });
    }
  }

  add(index: number, id: string, offer: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#pending.set(`add:${id}`, (m) =>
        m.type === 'added' ? resolve(m.answer) : reject(new Error(m.type === 'failed' ? m.error : 'unexpected reply')),
      );
      this.#send(this.#threads[index % this.#threads.length]!, { type: 'add', id, offer });
    });
  }

  connect(index: number, id: string): void {
    this.#send(this.#threads[index % this.#threads.length]!, { type: 'connect', id });
  }

  startWindow(): number {
    const seq = ++this.#seq;
    for (const t of this.#threads) this.#send(t, { type: 'window', phase: 'start', seq });
    return seq;
  }

  endWindow(seq: number): Promise<ReceiversWindow[]> {
    return Promise.all(
      this.#threads.map(
        (t, i) =>
          new Promise<ReceiversWindow>((resolve) => {
            this.#pending.set(`window:${seq}:${i}`, (m) => resolve(m as ReceiversWindow));
            this.#send(t, { type: 'window', phase: 'end', seq });
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.terminate()));
  }

  #send(t: Worker, m: ReceiversRequest): void {
    t.postMessage(m);
  }
}

interface Student {
  transport: types.WebRtcTransport;
  video: types.Consumer;
  audio: types.Consumer;
}

interface Step {
  students: number;
  consumers: number;
  consumersPerWorker: number[];
  workerCpuPercent: number;
  workerCpuPercentProc: number;
  egressMbps: number;
  lossPercent: number;
  videoLossPercent: number;
  audioLossPercent: number;
  /** werift receivers only: packets later than their RTP timestamp predicts by over 100 ms. */
  latePercent: number | null;
  /** Native receivers only: the 95th percentile of the students' video interarrival jitter. */
  videoJitterMsP95: number | null;
  lossyStudents: number;
  nacksPerSecond: number;
  plisPerSecond: number | null;
  layers: Record<string, number>;
  receiversCpuPercent: number;
  /** werift receivers only: their threads' event-loop delay. */
  receiversLoopP99Ms: number | null;
  coresBusyPercent: number[];
  windowSeconds: number;
}

const PASS_LOSS_PERCENT = 1;
const SATURATED_CPU_PERCENT = 95;
const RECEIVERS_BEHIND_MS = 100;
/** Percentage points of the worker's core the students must take before their cost is scaled to a full core. */
const MIN_SCALABLE_SHARE = 10;

/** One measurement window's figures at the receivers, whichever kind they are. */
interface WindowFigures {
  video: { expected: number; received: number };
  audio: { expected: number; received: number };
  late: number | null;
  videoJitterMsP95: number | null;
  lossyReceivers: number;
  nacksSent: number;
  plisSent: number | null;
  loopP99Ms: number | null;
}

async function weriftWindow(threads: ReceiverThreads, seconds: number): Promise<WindowFigures> {
  const seq = threads.startWindow();
  await sleep(seconds * 1000);
  const windows = await threads.endWindow(seq);
  const sum = (pick: (w: ReceiversWindow) => StreamFigures): StreamFigures =>
    windows.map(pick).reduce((a, b) => ({
      expected: a.expected + b.expected,
      received: a.received + b.received,
      late: a.late + b.late,
      bytes: a.bytes + b.bytes,
    }));
  const video = sum((w) => w.video);
  const audio = sum((w) => w.audio);
  return {
    video,
    audio,
    late: video.late + audio.late,
    videoJitterMsP95: null,
    lossyReceivers: windows.reduce((a, w) => a + w.lossyReceivers, 0),
    nacksSent: windows.reduce((a, w) => a + w.nacksSent, 0),
    plisSent: null,
    loopP99Ms: Math.max(...windows.map((w) => w.eventLoopDelayP99Ms)),
  };
}

async function nativeWindow(native: NativeReceivers, seconds: number): Promise<WindowFigures> {
  await native.startWindow();
  await sleep(seconds * 1000);
  const w = await native.endWindow();
  const asExpected = (f: { packets: number; lost: number }) => ({ expected: f.packets + f.lost, received: f.packets });
  return {
    video: asExpected(w.video),
    audio: asExpected(w.audio),
    late: null,
    videoJitterMsP95: w.videoJitterMsP95,
    lossyReceivers: w.lossyReceivers,
    nacksSent: w.nacksSent,
    plisSent: w.plisSent,
    loopP99Ms: null,
  };
}

/** The receivers could no longer keep up, so the loss they see is partly their own. */
function receiversBehind(step: Step): boolean {
  return step.receiversLoopP99Ms === null
    ? step.receiversCpuPercent >= SATURATED_CPU_PERCENT
    : step.receiversLoopP99Ms > RECEIVERS_BEHIND_MS;
}

export default async function fanout(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      start: { type: 'string', default: '10' },
      step: { type: 'string', default: '10' },
      max: { type: 'string', default: '600' },
      window: { type: 'string', default: '10' },
      settle: { type: 'string', default: '8' },
      layer: { type: 'string', default: '2' },
      threads: { type: 'string', default: '2' },
      receivers: { type: 'string', default: 'native' },
      'no-pin': { type: 'boolean', default: false },
    },
  });
  const [start, step, max, windowS, settleS, layer, threadCount] = [
    values.start,
    values.step,
    values.max,
    values.window,
    values.settle,
    values.layer,
    values.threads,
  ].map(Number) as [number, number, number, number, number, number, number];
  const pinned = !values['no-pin'] && os.availableParallelism() >= 2;
  const receiverKind = values.receivers;
  if (receiverKind !== 'native' && receiverKind !== 'werift') throw new Error('--receivers is native or werift');
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const loadBefore = os.loadavg();

  // This process (teacher, receivers) on the clients' core before the worker is spawned; the worker then moves.
  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', String(CLIENT_CPU), String(process.pid)], { stdio: 'ignore' });
  encodedClips();
  const pool = new WorkerPool({
    size: 1,
    workerBin: process.env.MEDIASOUP_WORKER_BIN,
    listenIp: '127.0.0.1',
    announcedIps: [],
    rtcPort: 0,
    rtcMinPort: 40000,
    rtcMaxPort: 49999,
    log,
  });
  await pool.start();
  const worker = pool.all()[0]!.worker;
  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', String(SFU_CPU), String(worker.pid)], { stdio: 'ignore' });
  // Every student on the origin router: the capacity under test is one worker's.
  const room = await ClassroomRoom.create('fanout-bench', pool, log, {
    seatsPerWorker: Number.MAX_SAFE_INTEGER,
    classSeats: new LocalClassSeats(undefined),
  });
  const teacher = await publishTeacher(room, pinned);
  // FANOUT_RECEIVERS_WORKER_BIN: the receivers' worker binary, to keep them the same while comparing SFU builds.
  const receiversBin = process.env.FANOUT_RECEIVERS_WORKER_BIN ?? process.env.MEDIASOUP_WORKER_BIN;
  const native = receiverKind === 'native' ? await NativeReceivers.create(receiversBin) : null;
  if (native && pinned) execFileSync('taskset', ['-a', '-p', '-c', String(CLIENT_CPU), String(native.worker.pid)], { stdio: 'ignore' });
  const threads = native ? null : new ReceiverThreads(threadCount);
  const caps = receiverCapabilities(room.router);
  const students: Student[] = [];
  const steps: Step[] = [];
  let stopReason = `reached --max ${max} students`;
  const baseline = { cpuPercent: 0 };

  try {
    // The teacher's three layers are flowing before anyone watches.
    for (let i = 0; ; i++) {
      const stats = await teacher.camera.getStats();
      if (stats.length >= CAMERA_LAYERS.length && stats.every((s) => s.byteCount > 0)) break;
      if (i > 100) throw new Error(`the teacher's camera layers do not arrive: ${JSON.stringify(stats.map((s) => s.byteCount))}`);
      await sleep(200);
    }
    process.stderr.write(
      `fanout: teacher live (${CAMERA_LAYERS.length} VP8 layers + Opus); worker pid ${worker.pid}` +
        `${pinned ? ` on CPU ${SFU_CPU}, clients on CPU ${CLIENT_CPU}` : ', unpinned'}\n`,
    );

    const addStudent = async (i: number): Promise<Student> => {
      const peer = room.addPeer({ id: `student-${i}`, userId: `student-${i}`, displayName: `Student ${i}`, role: 'student' });
      peer.rtpCapabilities = caps;
      const transport = await room.createWebRtcTransport(peer, 'recv');
      const video = await room.consume(peer, teacher.camera.id);
      const audio = await room.consume(peer, teacher.mic.id);
      if (native) await native.add(transport, video, audio);
      else {
        const offer = consumerOffer(transport, [video, audio]);
        const answer = await threads!.add(i, peer.id, offer);
        if (process.env.FANOUT_DEBUG && i === 0) process.stderr.write(`offer:\n${offer}\nanswer:\n${answer}\n`);
        const setup = sdpAll(answer, 'setup')[0];
        await transport.connect({
          // The remote (werift) side's role: it answered active, so it is the DTLS client.
          dtlsParameters: { role: setup === 'passive' ? 'server' : 'client', fingerprints: [fingerprintOf(answer)] },
        });
        threads!.connect(i, peer.id);
      }
      await Promise.all([video.resume(), audio.resume()]);
      await video.setPreferredLayers({ spatialLayer: layer });
      return { transport, video, audio };
    };

    // What the worker spends with the teacher alone (ingress, RTCP, timers): the students' share is above it.
    {
      const usage0 = await worker.getResourceUsage();
      const t0 = performance.now();
      await sleep(windowS * 1000);
      const usage1 = await worker.getResourceUsage();
      baseline.cpuPercent = round1(
        ((usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime) / 1000 / ((performance.now() - t0) / 1000)) * 100,
      );
      process.stderr.write(`fanout: teacher alone: worker ${baseline.cpuPercent}%\n`);
    }

    for (let target = start; target <= max; target += step) {
      const added: Promise<Student>[] = [];
      for (let i = students.length; i < target; i++) {
        added.push(addStudent(i));
        if (added.length % 8 === 0) await Promise.all(added.slice(-8));
      }
      students.push(...(await Promise.all(added)));
      for (let i = 0; students.some((s) => s.transport.dtlsState !== 'connected'); i++) {
        if (i > 150) {
          const stuck = students.filter((s) => s.transport.dtlsState !== 'connected');
          const states = stuck.slice(0, 3).map((s) => `ice ${s.transport.iceState}, dtls ${s.transport.dtlsState}`);
          throw new Error(`${stuck.length} students never connected (${states.join('; ')})`);
        }
        await sleep(200);
      }
      await sleep(settleS * 1000);

      const egress = async () => {
        const all = await Promise.all(students.map((s) => s.transport.getStats()));
        return { at: performance.now(), bytes: all.reduce((a, [s]) => a + (s?.bytesSent ?? 0), 0) };
      };
      const e0 = await egress();
      const usage0 = await worker.getResourceUsage();
      const proc0 = procCpuSeconds(worker.pid);
      // The clients' CPU: this process and the teacher's ffmpeg, plus the native receivers' worker.
      const clientsCpu = () =>
        procCpuSeconds(process.pid) + procCpuSeconds(teacher.ffmpeg.pid!) + (native ? procCpuSeconds(native.worker.pid) : 0);
      const self0 = clientsCpu();
      const cores0 = coreTimes();
      const t0 = performance.now();
      const window = native ? await nativeWindow(native, windowS) : await weriftWindow(threads!, windowS);
      const wall = (performance.now() - t0) / 1000;
      const usage1 = await worker.getResourceUsage();
      const proc1 = procCpuSeconds(worker.pid);
      const self1 = clientsCpu();
      const cores1 = coreTimes();
      const e1 = await egress();

      const { video, audio } = window;
      const lossOf = (f: { expected: number; received: number }) => (f.expected ? ((f.expected - f.received) / f.expected) * 100 : 0);
      const both = { expected: video.expected + audio.expected, received: video.received + audio.received };
      const layers: Record<string, number> = {};
      for (const s of students) {
        const l = s.video.currentLayers ? `s${s.video.currentLayers.spatialLayer}` : 'none';
        layers[l] = (layers[l] ?? 0) + 1;
      }
      const row: Step = {
        students: students.length,
        consumers: students.length * 2,
        consumersPerWorker: [students.length * 2],
        workerCpuPercent: round1(((usage1.ru_utime + usage1.ru_stime - usage0.ru_utime - usage0.ru_stime) / 1000 / wall) * 100),
        workerCpuPercentProc: round1(((proc1 - proc0) / wall) * 100),
        egressMbps: round1(((e1.bytes - e0.bytes) * 8) / ((e1.at - e0.at) / 1000) / 1e6),
        lossPercent: round2(lossOf(both)),
        videoLossPercent: round2(lossOf(video)),
        audioLossPercent: round2(lossOf(audio)),
        latePercent: window.late === null ? null : round2(both.received ? (window.late / both.received) * 100 : 0),
        videoJitterMsP95: window.videoJitterMsP95,
        lossyStudents: window.lossyReceivers,
        nacksPerSecond: round1(window.nacksSent / wall),
        plisPerSecond: window.plisSent === null ? null : round1(window.plisSent / wall),
        layers,
        receiversCpuPercent: round1(((self1 - self0) / wall) * 100),
        receiversLoopP99Ms: window.loopP99Ms,
        coresBusyPercent: cores1.map((c, i) => round1(((c.busy - cores0[i]!.busy) / (c.total - cores0[i]!.total)) * 100)),
        windowSeconds: round1(wall),
      };
      steps.push(row);
      process.stderr.write(
        `fanout: ${row.students} students, ${row.consumers} consumers: worker ${row.workerCpuPercent}% (proc ${row.workerCpuPercentProc}%), ` +
          `egress ${row.egressMbps} Mbps, loss ${row.lossPercent}% (video ${row.videoLossPercent}%), ` +
          (native ? `jitter p95 ${row.videoJitterMsP95} ms, ` : `late ${row.latePercent}%, `) +
          `layers ${JSON.stringify(layers)}, receivers ${row.receiversCpuPercent}%` +
          (native ? ', ' : ` loop p99 ${row.receiversLoopP99Ms} ms, `) +
          `cores ${row.coresBusyPercent.join('/')}%\n`,
      );
      // Receivers that fell behind lose packets in their own socket buffers: not the SFU's loss.
      if (receiversBehind(row)) {
        stopReason =
          (native
            ? `the receivers' core saturated (${row.receiversCpuPercent} %, loss ${row.lossPercent} %)`
            : `the receivers' core fell behind (event loop p99 ${row.receiversLoopP99Ms} ms, loss ${row.lossPercent} %)`) +
          ` at ${row.students} students`;
        break;
      }
      if (row.lossPercent > PASS_LOSS_PERCENT) {
        stopReason = `loss passed ${PASS_LOSS_PERCENT} % at ${row.students} students`;
        break;
      }
      if (row.workerCpuPercent >= SATURATED_CPU_PERCENT) {
        stopReason = `the worker's core saturated (${row.workerCpuPercent} %) at ${row.students} students`;
        break;
      }
    }
  } finally {
    room.close();
    teacher.close();
    await threads?.close();
    native?.close();
    pool.close();
  }

  // The figure: consumers one fully used worker core carries at < 1 % loss. Measured when the worker's core
  // was (nearly) full at a passing step; otherwise scaled from the largest passing step's CPU share (the
  // worker's cost grows linearly with consumers), and said so.
  const passing = steps.filter((s) => s.lossPercent <= PASS_LOSS_PERCENT && !receiversBehind(s));
  const best = passing.at(-1);
  // Scaled only when the students' own share of the core is large enough to stand above the noise, and never when
  // loss ended the ramp: then the largest passing step is what one worker carried at < 1 % loss, measured.
  const lossLimited = stopReason.startsWith('loss passed');
  const measuredFull = !!best && (best.workerCpuPercent >= 90 || lossLimited);
  const studentsShare = best ? best.workerCpuPercent - baseline.cpuPercent : 0;
  const scalable = !!best && !measuredFull && studentsShare >= MIN_SCALABLE_SHARE;
  const consumersPerCore = !best
    ? null
    : measuredFull
      ? best.consumers
      : scalable
        ? Math.floor((best.consumers * (100 - baseline.cpuPercent)) / studentsShare)
        : null;
  const results = {
    consumersPerCore,
    studentsPerCore: consumersPerCore === null ? null : Math.floor(consumersPerCore / 2),
    lossPercent: best?.lossPercent ?? null,
    consumersPerCoreBasis: !best
      ? 'no step passed'
      : measuredFull
        ? `measured: ${best.consumers} consumers with the worker's core at ${best.workerCpuPercent} % and ${best.lossPercent} % loss` +
          (lossLimited ? `; the next step lost more than ${PASS_LOSS_PERCENT} % (${stopReason}), so it is not scaled to a full core` : '')
        : scalable
          ? `scaled: ${best.consumers} consumers took ${round1(studentsShare)} % of the worker's core above the teacher alone ` +
            `(${baseline.cpuPercent} %) at ${best.lossPercent} % loss; the ramp stopped because ${stopReason}`
          : `not measured: the largest passing step (${best.consumers} consumers) took ${round1(studentsShare)} % of the ` +
            `worker's core above the teacher alone (${baseline.cpuPercent} %), too little to scale; the ramp stopped because ${stopReason}`,
    baselineWorkerCpuPercent: baseline.cpuPercent,
    stopReason,
    goal: { consumersPerCore: 500, lossPercent: PASS_LOSS_PERCENT },
    steps,
    teacher: {
      layers: CAMERA_LAYERS.map((l) => `${l.width}x${l.height}@${l.fps} ${l.kbps} kbps VP8`),
      audio: `Opus ${AUDIO_KBPS} kbps`,
      preferredSpatialLayer: layer,
    },
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.availableParallelism(),
      pinned: pinned ? { worker: SFU_CPU, clients: CLIENT_CPU } : null,
      receivers: native
        ? "native: a second mediasoup worker on the clients' core (bench/_fanout-native-receivers.ts says what they do)"
        : `werift in ${threadCount} worker threads (bench/_fanout-receivers.ts says what they do)`,
    },
    load: { before: loadBefore.map(round2), after: os.loadavg().map(round2) },
    command: `npm run bench -- fanout ${args.join(' ')}`.trim(),
    at: new Date().toISOString(),
  };
  console.table(
    steps.map((s) => ({
      students: s.students,
      consumers: s.consumers,
      'worker CPU %': s.workerCpuPercent,
      'egress Mbps': s.egressMbps,
      'loss %': s.lossPercent,
      ...(s.latePercent === null ? { 'jitter p95 ms': s.videoJitterMsP95 } : { 'late %': s.latePercent }),
      'NACK/s': s.nacksPerSecond,
      layers: Object.entries(s.layers)
        .map(([k, v]) => `${k}:${v}`)
        .join(' '),
      'receivers CPU %': s.receiversCpuPercent,
      'cores busy %': s.coresBusyPercent.join('/'),
    })),
  );
  console.log(
    `consumers per core: ${consumersPerCore ?? 'n/a'} (${results.consumersPerCoreBasis}); students per core: ${results.studentsPerCore ?? 'n/a'}`,
  );
  console.log(`stopped: ${stopReason}`);
  console.log(`load average (1/5/15 min): before ${results.load.before.join(' ')}, after ${results.load.after.join(' ')}`);
  const out = path.join(import.meta.dirname, 'results', 'fanout.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
  // werift's closed peer connections keep timers and sockets alive; nothing else is left to finish.
  process.exit(0);
}
