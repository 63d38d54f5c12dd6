// Worker thread of the fan-out bench: many receiving students, each one werift RTCPeerConnection answering
// the SFU's offer for its receive transport (a video and an audio consumer, bundled).
// What each receiver does, as a browser does: ICE (controlling, against mediasoup's ICE-lite), DTLS 1.2
// handshake, SRTP/SRTCP decryption of every packet (the suite mediasoup and werift agree on, AES-GCM first),
// RTX unwrapping, receiver reports every 0.5-1.5 s, generic NACKs for missing video packets (every 5 ms while
// missing), transport-cc feedback (so mediasoup's send-side bandwidth estimate and layer choice run), and PLI
// when asked. What it does not: decode VP8/Opus, a jitter buffer, rendering, REMB, FIR, audio level.
// It counts, per stream and measurement window: packets expected (sequence range) and received (distinct
// sequence numbers, retransmissions included), and late packets: arriving more than LATE_MS after what their
// RTP timestamp and the window's fastest transit predict (what a jitter buffer would have to absorb).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import * as werift from 'werift';

const LATE_MS = 100;

export type ReceiversRequest =
  | { type: 'add'; id: string; offer: string }
  | { type: 'connect'; id: string }
  | { type: 'window'; phase: 'start' | 'end'; seq: number }
  | { type: 'remove'; id: string };

export interface StreamFigures {
  expected: number;
  received: number;
  late: number;
  bytes: number;
}

export interface ReceiversWindow {
  type: 'window';
  seq: number;
  receivers: number;
  video: StreamFigures;
  audio: StreamFigures;
  /** Receivers whose own video loss passed 1 % in the window. */
  lossyReceivers: number;
  nacksSent: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

export type ReceiversReply =
  { type: 'added'; id: string; answer: string } | { type: 'failed'; id: string; error: string } | ReceiversWindow;

/** Sequence numbers seen in the window (a bitmap over the 16-bit space) and the window's counts. */
class StreamCounter {
  readonly #clockRate: number;
  readonly #seen = new Uint32Array(2048);
  #highest = -1; // extended sequence number of the newest packet
  #windowFirst = -1; // extended sequence number of the window's first packet (-1: none yet)
  #open = false;
  #ts0 = 0;
  #minTransit = Infinity;
  received = 0;
  late = 0;
  bytes = 0;

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  start(): void {
    this.#seen.fill(0);
    this.#open = true;
    this.#windowFirst = -1;
    this.#minTransit = Infinity;
    this.received = this.late = this.bytes = 0;
  }

  end(): StreamFigures {
    this.#open = false;
    const expected = this.#windowFirst < 0 ? 0 : this.#highest - this.#windowFirst + 1;
    return { expected, received: Math.min(this.received, expected), late: this.late, bytes: this.bytes };
  }

  add(seq: number, timestamp: number, payloadBytes: number, nowMs: number): void {
    let ext: number;
    if (this.#highest < 0) ext = seq;
    else {
      const delta = ((seq - (this.#highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      ext = this.#highest + delta;
    }
    if (ext > this.#highest) this.#highest = ext;
    if (!this.#open) return;
    if (this.#windowFirst < 0) {
      this.#windowFirst = ext;
      this.#ts0 = timestamp;
    }
    if (ext < this.#windowFirst) return;
    const word = (seq >>> 5) & 2047;
    const bit = 1 << (seq & 31);
    if (this.#seen[word]! & bit) return; // a duplicate
    this.#seen[word]! |= bit;
    this.received++;
    this.bytes += payloadBytes;
    const mediaMs = ((((timestamp - this.#ts0) | 0) / this.#clockRate) * 1000) | 0;
    const transit = nowMs - mediaMs;
    if (transit < this.#minTransit) this.#minTransit = transit;
    else if (transit - this.#minTransit > LATE_MS) this.late++;
  }
}

interface Receiver {
  pc: werift.RTCPeerConnection;
  video: StreamCounter;
  audio: StreamCounter;
  /** Generic NACK packets sent (each lists the sequence numbers still missing). */
  nacks: number;
}

const receivers = new Map<string, Receiver>();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function peerConfig(): Partial<werift.PeerConfig> {
  return {
    // One ICE and DTLS transport for both m-sections, as browsers do with the SFU's BUNDLE group.
    bundlePolicy: 'max-bundle',
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    iceUseTcp: false,
    codecs: {
      audio: [
        new werift.RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, rtcpFeedback: [werift.useTWCC()] }),
      ],
      video: [
        new werift.RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90000,
          rtcpFeedback: [werift.useNACK(), werift.usePLI(), werift.useTWCC()],
        }),
        new werift.RTCRtpCodecParameters({ mimeType: 'video/rtx', clockRate: 90000 }),
      ],
    },
    headerExtensions: {
      audio: [werift.useSdesMid(), werift.useTransportWideCC()],
      video: [werift.useSdesMid(), werift.useTransportWideCC()],
    },
  };
}

async function add(id: string, offer: string): Promise<string> {
  const pc = new werift.RTCPeerConnection(peerConfig());
  const r: Receiver = { pc, video: new StreamCounter(90000), audio: new StreamCounter(48000), nacks: 0 };
  receivers.set(id, r);
  pc.onTrack.subscribe((track) => {
    const counter = track.kind === 'video' ? r.video : r.audio;
    track.onReceiveRtp.subscribe((packet) =>
      counter.add(packet.header.sequenceNumber, packet.header.timestamp, packet.payload.length, performance.now()),
    );
  });
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  for (const t of pc.getTransceivers()) t.receiver.onPacketLost.subscribe(() => r.nacks++);
  // Answered before it is applied: ICE and the DTLS ClientHello start only once the SFU's transport has
  // our fingerprint (`connect`), as with mediasoup-client, where connect() precedes the first packet.
  const answer = await pc.createAnswer();
  pending.set(id, answer);
  return answer.sdp;
}

const pending = new Map<string, werift.RTCSessionDescription>();

const nacksAtStart = new Map<string, number>();

function windowFigures(seq: number): ReceiversWindow {
  const sum = (a: StreamFigures, b: StreamFigures): StreamFigures => ({
    expected: a.expected + b.expected,
    received: a.received + b.received,
    late: a.late + b.late,
    bytes: a.bytes + b.bytes,
  });
  let video: StreamFigures = { expected: 0, received: 0, late: 0, bytes: 0 };
  let audio: StreamFigures = { ...video };
  let lossyReceivers = 0;
  let nacksSent = 0;
  for (const [id, r] of receivers) {
    const v = r.video.end();
    if (v.expected > 0 && (v.expected - v.received) / v.expected > 0.01) lossyReceivers++;
    video = sum(video, v);
    audio = sum(audio, r.audio.end());
    nacksSent += r.nacks - (nacksAtStart.get(id) ?? 0);
  }
  return {
    type: 'window',
    seq,
    receivers: receivers.size,
    video,
    audio,
    lossyReceivers,
    nacksSent,
    eventLoopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10,
    eventLoopDelayMaxMs: Math.round(loopDelay.max / 1e5) / 10,
  };
}

const port = parentPort!;
port.on('message', (message: ReceiversRequest) => {
  const reply = (m: ReceiversReply) => port.postMessage(m);
  switch (message.type) {
    case 'add':
      add(message.id, message.offer).then(
        (answer) => reply({ type: 'added', id: message.id, answer }),
        (err: unknown) => reply({ type: 'failed', id: message.id, error: String(err) }),
      );
      break;
    case 'window':
      if (message.phase === 'start') {
        for (const [id, r] of receivers) {
          r.video.start();
          r.audio.start();
          nacksAtStart.set(id, r.nacks);
        }
        loopDelay.reset();
      } else reply(windowFigures(message.seq));
      break;
    case 'connect': {
      const answer = pending.get(message.id);
      pending.delete(message.id);
      receivers
        .get(message.id)
        ?.pc.setLocalDescription(answer!)
        .catch((err: unknown) => console.error(`fanout receiver ${message.id}: ${String(err)}`));
      break;
    }
    case 'remove': {
      const r = receivers.get(message.id);
      receivers.delete(message.id);
      void r?.pc.close();
      break;
    }
  }
});
