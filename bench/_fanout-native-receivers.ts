// Native receivers for the fan-out bench: each student is a WebRtcTransport on a SECOND mediasoup worker
// (pinned to the clients' core), so the receiving side costs about what the sending side does and no longer
// falls behind long before the SFU's core is full, as the werift receivers in JavaScript did.
// What each receiver does, as a browser does:
//   - ICE: a STUN Binding request to the SFU (controlling, USE-CANDIDATE, MESSAGE-INTEGRITY with the SFU's ICE
//     password, FINGERPRINT), repeated every CONSENT_MS as consent freshness (RFC 7675). Both sides are ICE-lite
//     mediasoup transports and neither sends checks, so the bench sends the client's requests itself from the
//     receiver's own address and port (a raw socket in a small helper, bench/_raw-udp.py, run as root).
//   - DTLS 1.2 (the receiver is the DTLS client) and SRTP/SRTCP on every packet, in mediasoup's C++ with the
//     worker's libsrtp2 on OpenSSL, negotiating the suite mediasoup prefers (AES-GCM first, as browsers).
//   - Receiver feedback from a Producer per consumed stream: receiver reports, generic NACK for missing packets
//     (then RTX unwrapping), PLI when the stream needs a key frame, and transport-cc feedback, so the SFU's
//     bandwidth estimate, layer choice and retransmission run as with browsers.
// What it does not: decode VP8/Opus, keep a jitter buffer, render, or send REMB; loss is counted as mediasoup's
// receive statistics count it (RFC 3550 cumulative loss after retransmission), and no "late packet" figure is
// kept (the producer's interarrival jitter is reported instead).
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import zlib from 'node:zlib';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import { ROUTER_MEDIA_CODECS } from '../server/sfu/media-codecs.ts';

const CONSENT_MS = 5000;
const LOOPBACK = '127.0.0.1';

/** A STUN Binding request as an ICE agent in the controlling role sends it (RFC 8445 section 7.1.1). */
export function stunBindingRequest(username: string, password: string, tieBreaker: bigint): Buffer {
  const attr = (type: number, value: Buffer) => {
    const header = Buffer.alloc(4);
    header.writeUInt16BE(type, 0);
    header.writeUInt16BE(value.length, 2);
    const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
    return Buffer.concat([header, value, pad]);
  };
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(0x6e7f1eff, 0); // a host candidate's priority
  const controlling = Buffer.alloc(8);
  controlling.writeBigUInt64BE(tieBreaker, 0);
  const body = Buffer.concat([
    attr(0x0006, Buffer.from(username, 'utf8')), // USERNAME
    attr(0x0024, priority), // PRIORITY
    attr(0x802a, controlling), // ICE-CONTROLLING
    attr(0x0025, Buffer.alloc(0)), // USE-CANDIDATE
  ]);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0); // Binding request
  header.writeUInt32BE(0x2112a442, 4); // magic cookie
  crypto.randomBytes(12).copy(header, 8);
  // MESSAGE-INTEGRITY covers everything before it, with the length counting itself (24 bytes).
  header.writeUInt16BE(body.length + 24, 2);
  const integrity = crypto
    .createHmac('sha1', password)
    .update(Buffer.concat([header, body]))
    .digest();
  const withIntegrity = Buffer.concat([body, attr(0x0008, integrity)]);
  // FINGERPRINT: CRC-32 of everything before it (length counting it too) XOR 0x5354554e.
  header.writeUInt16BE(withIntegrity.length + 8, 2);
  const crc = (zlib.crc32(Buffer.concat([header, withIntegrity])) ^ 0x5354554e) >>> 0;
  const fingerprint = Buffer.alloc(4);
  fingerprint.writeUInt32BE(crc, 0);
  return Buffer.concat([header, withIntegrity, attr(0x8028, fingerprint)]);
}

/** Sends UDP datagrams from a chosen source port (the receiver transports' own), through bench/_raw-udp.py. */
class RawUdpSender {
  readonly #child: ChildProcess;

  constructor() {
    this.#child = spawn('python3', [path.join(import.meta.dirname, '_raw-udp.py')], { stdio: ['pipe', 'inherit', 'inherit'] });
    this.#child.on('exit', (code) => {
      if (code !== null && code !== 0) console.error(`fanout: the raw UDP helper exited with ${code} (it needs root)`);
    });
  }

  send(fromPort: number, toPort: number, payload: Buffer): void {
    this.#child.stdin!.write(`${LOOPBACK} ${fromPort} ${LOOPBACK} ${toPort} ${payload.toString('hex')}\n`);
  }

  close(): void {
    this.#child.stdin!.end();
    this.#child.kill();
  }
}

export interface NativeWindowFigures {
  receivers: number;
  video: { packets: number; lost: number; bytes: number };
  audio: { packets: number; lost: number; bytes: number };
  lossyReceivers: number;
  nacksSent: number;
  plisSent: number;
  videoJitterMsP95: number;
}

interface StreamCounts {
  packets: number;
  lost: number;
  bytes: number;
  nacks: number;
  plis: number;
  jitter: number;
}

interface NativeReceiver {
  transport: types.WebRtcTransport;
  video: types.Producer;
  audio: types.Producer;
  server: types.WebRtcTransport;
}

async function streamCounts(producer: types.Producer): Promise<StreamCounts> {
  const stats = await producer.getStats();
  return stats.reduce<StreamCounts>(
    (a, s) => ({
      packets: a.packets + s.packetCount,
      lost: a.lost + Math.max(0, s.packetsLost),
      bytes: a.bytes + s.byteCount,
      nacks: a.nacks + s.nackCount,
      plis: a.plis + s.pliCount,
      jitter: Math.max(a.jitter, s.jitter),
    }),
    { packets: 0, lost: 0, bytes: 0, nacks: 0, plis: 0, jitter: 0 },
  );
}

/** The receiving students: one mediasoup worker, a router, and a transport with two producers per student. */
export class NativeReceivers {
  readonly worker: types.Worker;
  readonly #router: types.Router;
  readonly #raw = new RawUdpSender();
  readonly #receivers: NativeReceiver[] = [];
  readonly #consent: NodeJS.Timeout;
  #atStart = new Map<NativeReceiver, { video: StreamCounts; audio: StreamCounts }>();

  private constructor(worker: types.Worker, router: types.Router) {
    this.worker = worker;
    this.#router = router;
    this.#consent = setInterval(() => {
      for (const r of this.#receivers) this.#checks(r);
    }, CONSENT_MS);
  }

  static async create(workerBin: string | undefined): Promise<NativeReceivers> {
    const worker = await mediasoup.createWorker({ logLevel: 'error', ...(workerBin ? { workerBin } : {}) });
    const router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
    return new NativeReceivers(worker, router);
  }

  get count(): number {
    return this.#receivers.length;
  }

  /** Connects a receiver to the SFU's transport for one student and starts receiving its two consumers. */
  async add(server: types.WebRtcTransport, video: types.Consumer, audio: types.Consumer): Promise<void> {
    const transport = await this.#router.createWebRtcTransport({
      listenInfos: [{ protocol: 'udp', ip: LOOPBACK }],
      enableUdp: true,
      enableTcp: false,
    });
    // The consumers' RTP parameters are what the receiver's producers receive (same SSRCs, payload types,
    // header extension ids and feedback), as a browser's answer to the SFU's offer would say.
    const receiver: NativeReceiver = {
      transport,
      server,
      video: await transport.produce({ kind: 'video', rtpParameters: video.rtpParameters }),
      audio: await transport.produce({ kind: 'audio', rtpParameters: audio.rtpParameters }),
    };
    await transport.connect({ dtlsParameters: { role: 'server', fingerprints: server.dtlsParameters.fingerprints } });
    await server.connect({ dtlsParameters: { role: 'client', fingerprints: transport.dtlsParameters.fingerprints } });
    this.#receivers.push(receiver);
    this.#checks(receiver);
  }

  /** The client's ICE checks: to the SFU from the receiver's port, and (both being ICE-lite) the mirror one. */
  #checks(r: NativeReceiver): void {
    const serverPort = r.server.iceCandidates.find((c) => c.protocol === 'udp')!.port;
    const ownPort = r.transport.iceCandidates[0]!.port;
    const own = r.transport.iceParameters;
    const sfu = r.server.iceParameters;
    this.#raw.send(ownPort, serverPort, stunBindingRequest(`${sfu.usernameFragment}:${own.usernameFragment}`, sfu.password, 1n));
    this.#raw.send(serverPort, ownPort, stunBindingRequest(`${own.usernameFragment}:${sfu.usernameFragment}`, own.password, 2n));
  }

  async startWindow(): Promise<void> {
    const entries = await Promise.all(
      this.#receivers.map(async (r) => [r, { video: await streamCounts(r.video), audio: await streamCounts(r.audio) }] as const),
    );
    this.#atStart = new Map(entries);
  }

  async endWindow(): Promise<NativeWindowFigures> {
    const figures: NativeWindowFigures = {
      receivers: this.#receivers.length,
      video: { packets: 0, lost: 0, bytes: 0 },
      audio: { packets: 0, lost: 0, bytes: 0 },
      lossyReceivers: 0,
      nacksSent: 0,
      plisSent: 0,
      videoJitterMsP95: 0,
    };
    const jitters: number[] = [];
    await Promise.all(
      this.#receivers.map(async (r) => {
        const start = this.#atStart.get(r);
        if (!start) return;
        const [v, a] = await Promise.all([streamCounts(r.video), streamCounts(r.audio)]);
        const dv = { packets: v.packets - start.video.packets, lost: v.lost - start.video.lost, bytes: v.bytes - start.video.bytes };
        const da = { packets: a.packets - start.audio.packets, lost: a.lost - start.audio.lost, bytes: a.bytes - start.audio.bytes };
        for (const k of ['packets', 'lost', 'bytes'] as const) {
          figures.video[k] += dv[k];
          figures.audio[k] += da[k];
        }
        if (dv.packets + dv.lost > 0 && dv.lost / (dv.packets + dv.lost) > 0.01) figures.lossyReceivers++;
        figures.nacksSent += v.nacks - start.video.nacks;
        figures.plisSent += v.plis - start.video.plis;
        jitters.push((v.jitter / 90000) * 1000);
      }),
    );
    jitters.sort((x, y) => x - y);
    figures.videoJitterMsP95 = Math.round((jitters[Math.floor(jitters.length * 0.95)] ?? 0) * 10) / 10;
    return figures;
  }

  close(): void {
    clearInterval(this.#consent);
    this.#raw.close();
    this.worker.close();
  }
}
