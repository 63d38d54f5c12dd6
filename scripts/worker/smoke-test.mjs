#!/usr/bin/env node
// Smoke test for the mediasoup-worker built by scripts/worker/build.sh.
//
// Runs the worker the way mediasoup does (mediasoup's Node API with
// MEDIASOUP_WORKER_BIN) and connects werift peers over ICE + DTLS on 127.0.0.1:
//   - a sending peer (opus + VP8 tracks with made-up RTP) -> WebRtcTransport +
//     Producers: proves the DTLS handshake (the KTLS/BIO trap) and SRTP
//     unprotect (RTP and RTCP) in the worker;
//   - a receiving peer <- WebRtcTransport + Consumer of the opus Producer:
//     proves SRTP protect in the worker (werift must decrypt what it gets);
//   - RTCP both ways (SRTCP protect/unprotect in the worker).
// Done once per SRTP profile werift offers (AEAD_AES_128_GCM, then
// AES128_CM_HMAC_SHA1_80). Before that it checks which SRTP crypto the binary
// carries: libsrtp2 built with OpenSSL and linked in (its cipher descriptions
// in the binary, no libsrtp2.so or NSS among its libraries), not Debian's
// NSS-backed libsrtp2.so. Prints OK and exits 0, or exits 1.
//
// Usage (from the repo root, node_modules with mediasoup and werift):
//   node scripts/worker/smoke-test.mjs
// MEDIASOUP_WORKER_BIN picks the binary; if unset, scripts/worker/build.sh is
// run to get it (instant when the binary is already cached).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const TIMEOUT_MS = 20_000;
const here = path.dirname(fileURLToPath(import.meta.url));

if (!process.env.MEDIASOUP_WORKER_BIN) {
  const out = execFileSync('bash', [path.join(here, 'build.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  process.env.MEDIASOUP_WORKER_BIN = out.trim().split('\n').pop();
}

// Imported after MEDIASOUP_WORKER_BIN is set.
const mediasoup = await import('mediasoup');
const weriftModule = await import('werift');
const werift = weriftModule.default ?? weriftModule;
const { RTCPeerConnection, RTCRtpCodecParameters, RTCDtlsTransport, MediaStreamTrack, RtpPacket, RtpHeader } = werift;

const SRTP_PROFILE_NAMES = { 1: 'AES128_CM_HMAC_SHA1_80', 7: 'AEAD_AES_128_GCM' };
const OPUS_PT = 111;
const VP8_PT = 96;

// werift has no public knob for the SRTP profiles it offers; restrict them per
// round so both the CM and the GCM paths of the worker's SRTP are exercised.
let forcedSrtpProfiles;
const originalDtlsStart = RTCDtlsTransport.prototype.start;
RTCDtlsTransport.prototype.start = function (...args) {
  if (forcedSrtpProfiles) this.srtpProfiles = forcedSrtpProfiles;
  return originalDtlsStart.apply(this, args);
};

function log(...args) {
  console.log('[smoke]', ...args);
}

function withTimeout(promise, what, ms = TIMEOUT_MS) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function waitFor(predicate, what, ms = TIMEOUT_MS) {
  return withTimeout(
    new Promise((resolve) => {
      const check = async () => {
        if (await predicate()) resolve();
        else setTimeout(check, 50);
      };
      check();
    }),
    what,
    ms,
  );
}

function peerConfig() {
  return {
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PT })],
      video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: VP8_PT })],
    },
    headerExtensions: { audio: [], video: [] },
  };
}

function sdpAttr(sdp, name) {
  const m = sdp.match(new RegExp(`^a=${name}:(.*)$`, 'm'));
  return m ? m[1].trim() : undefined;
}

function sdpAll(sdp, name) {
  return [...sdp.matchAll(new RegExp(`^a=${name}:(.*)$`, 'gm'))].map((m) => m[1].trim());
}

function localFingerprint(sdp) {
  const fp = sdpAll(sdp, 'fingerprint').find((f) => f.toLowerCase().startsWith('sha-256 '));
  if (!fp) throw new Error('no sha-256 fingerprint in werift SDP');
  return { algorithm: 'sha-256', value: fp.split(' ')[1] };
}

// One m-section of a mediasoup-side SDP (ICE-lite, bundled on one transport).
function mediaSection(transport, { kind, mid, direction, setup, pt, rtpmap, ssrc, cname }) {
  const fp = transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256');
  const lines = [
    `m=${kind} ${transport.iceCandidates[0].port} UDP/TLS/RTP/SAVPF ${pt}`,
    'c=IN IP4 127.0.0.1',
    `a=mid:${mid}`,
    `a=${direction}`,
    'a=rtcp-mux',
    `a=ice-ufrag:${transport.iceParameters.usernameFragment}`,
    `a=ice-pwd:${transport.iceParameters.password}`,
    `a=fingerprint:sha-256 ${fp.value}`,
    `a=setup:${setup}`,
    `a=rtpmap:${pt} ${rtpmap}`,
  ];
  if (ssrc !== undefined) {
    lines.push(`a=msid:smoke smoke-${kind}`, `a=ssrc:${ssrc} cname:${cname}`);
  }
  for (const c of transport.iceCandidates) {
    lines.push(`a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address ?? c.ip} ${c.port} typ ${c.type}`);
  }
  lines.push('a=end-of-candidates');
  return lines;
}

function sessionSdp(mids, sections) {
  return (
    [
      'v=0',
      'o=mediasoup 1 1 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=ice-lite',
      `a=group:BUNDLE ${mids.join(' ')}`,
      'a=msid-semantic: WMS *',
      ...sections.flat(),
    ].join('\r\n') + '\r\n'
  );
}

function dtlsConnected(transport) {
  if (transport.dtlsState === 'connected') return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      transport.on('dtlsstatechange', (state) => {
        if (state === 'connected') resolve();
        if (state === 'failed' || state === 'closed') reject(new Error(`DTLS ${state}`));
      });
    }),
    'DTLS connected',
  );
}

// Made-up payloads: an opus "silence" frame and a tiny VP8 key frame header.
const OPUS_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);
const VP8_FRAME = Buffer.from([
  0x10, // VP8 payload descriptor: S=1, PID=0
  0x10,
  0x02,
  0x00, // frame tag: key frame, version 0, show_frame
  0x9d,
  0x01,
  0x2a, // start code
  0x40,
  0x01,
  0xf0,
  0x00, // 320x240
  ...new Array(32).fill(0),
]);

async function round(router, profiles) {
  forcedSrtpProfiles = profiles;
  const closers = [];
  try {
    const listenInfos = [{ protocol: 'udp', ip: '127.0.0.1' }];

    // ---- sending peer -> Producers -----------------------------------------
    const sendTransport = await router.createWebRtcTransport({ listenInfos });
    closers.push(() => sendTransport.close());
    const sender = new RTCPeerConnection(peerConfig());
    closers.push(() => sender.close());
    const audioTrack = new MediaStreamTrack({ kind: 'audio' });
    const videoTrack = new MediaStreamTrack({ kind: 'video' });
    const audioTx = sender.addTransceiver(audioTrack, { direction: 'sendonly' });
    const videoTx = sender.addTransceiver(videoTrack, { direction: 'sendonly' });
    await sender.setLocalDescription(await sender.createOffer());
    const offer = sender.localDescription.sdp;
    const [audioMid, videoMid] = sdpAll(offer, 'mid');

    const answer = sessionSdp(
      [audioMid, videoMid],
      [
        mediaSection(sendTransport, {
          kind: 'audio',
          mid: audioMid,
          direction: 'recvonly',
          setup: 'passive',
          pt: OPUS_PT,
          rtpmap: 'opus/48000/2',
        }),
        mediaSection(sendTransport, {
          kind: 'video',
          mid: videoMid,
          direction: 'recvonly',
          setup: 'passive',
          pt: VP8_PT,
          rtpmap: 'VP8/90000',
        }),
      ],
    );
    await sender.setRemoteDescription({ type: 'answer', sdp: answer });
    // We answered a=setup:passive, so werift is the DTLS client.
    await sendTransport.connect({ dtlsParameters: { role: 'client', fingerprints: [localFingerprint(offer)] } });

    const audioProducer = await sendTransport.produce({
      kind: 'audio',
      rtpParameters: {
        mid: audioMid,
        codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }],
        encodings: [{ ssrc: audioTx.sender.ssrc }],
        rtcp: { cname: 'smoke-sender' },
      },
    });
    const videoProducer = await sendTransport.produce({
      kind: 'video',
      rtpParameters: {
        mid: videoMid,
        codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000 }],
        encodings: [{ ssrc: videoTx.sender.ssrc }],
        rtcp: { cname: 'smoke-sender' },
      },
    });

    // ---- Consumer -> receiving peer ----------------------------------------
    const recvTransport = await router.createWebRtcTransport({ listenInfos });
    closers.push(() => recvTransport.close());
    const consumer = await recvTransport.consume({
      producerId: audioProducer.id,
      rtpCapabilities: {
        codecs: router.rtpCapabilities.codecs.filter((c) => c.mimeType.toLowerCase() === 'audio/opus'),
        headerExtensions: [],
      },
    });
    const consumerCodec = consumer.rtpParameters.codecs[0];
    const receiver = new RTCPeerConnection(peerConfig());
    closers.push(() => receiver.close());
    let received = 0;
    let rtcpFromWorker = 0;
    for (const tx of [audioTx, videoTx]) {
      tx.sender.onRtcp.subscribe(() => {
        rtcpFromWorker++;
      });
    }
    receiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe(() => {
        received++;
      });
    });
    const consumerOffer = sessionSdp(
      [consumer.rtpParameters.mid ?? '0'],
      [
        mediaSection(recvTransport, {
          kind: 'audio',
          mid: consumer.rtpParameters.mid ?? '0',
          direction: 'sendonly',
          setup: 'actpass',
          pt: consumerCodec.payloadType,
          rtpmap: `opus/${consumerCodec.clockRate}/${consumerCodec.channels ?? 2}`,
          ssrc: consumer.rtpParameters.encodings[0].ssrc,
          cname: consumer.rtpParameters.rtcp?.cname ?? 'smoke',
        }),
      ],
    );
    await receiver.setRemoteDescription({ type: 'offer', sdp: consumerOffer });
    await receiver.setLocalDescription(await receiver.createAnswer());
    const recvAnswer = receiver.localDescription.sdp;
    const recvSetup = sdpAttr(recvAnswer, 'setup');
    await recvTransport.connect({
      dtlsParameters: {
        role: recvSetup === 'passive' ? 'server' : 'client',
        fingerprints: [localFingerprint(recvAnswer)],
      },
    });

    await Promise.all([dtlsConnected(sendTransport), dtlsConnected(recvTransport)]);
    const profile = sender.dtlsTransports[0]?.dtls?.srtp?.srtpProfile;
    log(`DTLS connected on both transports, SRTP profile ${SRTP_PROFILE_NAMES[profile] ?? profile}`);

    // ---- media ---------------------------------------------------------------
    let seq = 1000;
    let ts = 0;
    const timer = setInterval(() => {
      seq = (seq + 1) & 0xffff;
      ts = (ts + 960) >>> 0;
      audioTrack.writeRtp(new RtpPacket(new RtpHeader({ payloadType: OPUS_PT, sequenceNumber: seq, timestamp: ts }), OPUS_FRAME));
      videoTrack.writeRtp(
        new RtpPacket(new RtpHeader({ payloadType: VP8_PT, sequenceNumber: seq, timestamp: ts * 2, marker: true }), VP8_FRAME),
      );
    }, 20);
    closers.push(() => clearInterval(timer));

    await waitFor(async () => {
      const [a] = await audioProducer.getStats();
      const [v] = await videoProducer.getStats();
      return a?.byteCount > 0 && v?.byteCount > 0 && received >= 10;
    }, 'RTP through the worker');

    // RTCP both ways: werift decrypts the worker's SRTCP (receiver reports on
    // the send transport) and the worker decrypts werift's (the receiver
    // report answering the consumer's sender report yields a round-trip time).
    await waitFor(async () => {
      const [c] = await consumer.getStats();
      return rtcpFromWorker > 0 && c?.roundTripTime > 0;
    }, 'SRTCP in both directions');

    const [audioStats] = await audioProducer.getStats();
    const [videoStats] = await videoProducer.getStats();
    const [sendStats] = await sendTransport.getStats();
    const [recvStats] = await recvTransport.getStats();
    log(
      `producers: opus ${audioStats.packetCount} pkts/${audioStats.byteCount} B, ` +
        `VP8 ${videoStats.packetCount} pkts/${videoStats.byteCount} B; ` +
        `send transport dtlsState=${sendStats.dtlsState} rtpBytesReceived=${sendStats.rtpBytesReceived}`,
    );
    log(
      `consumer: recv transport dtlsState=${recvStats.dtlsState} rtpBytesSent=${recvStats.rtpBytesSent}, ` +
        `werift decrypted ${received} RTP packets; ` +
        `SRTCP: werift got ${rtcpFromWorker} from the worker, consumer RTT ${(await consumer.getStats())[0].roundTripTime} ms`,
    );
    if (sendStats.dtlsState !== 'connected' || !(sendStats.rtpBytesReceived > 0)) {
      throw new Error('send transport stats do not show SRTP media received');
    }
    if (recvStats.dtlsState !== 'connected' || !(recvStats.rtpBytesSent > 0)) {
      throw new Error('recv transport stats do not show SRTP media sent');
    }
  } finally {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch {
        // best effort
      }
    }
  }
}

/** Where the worker's SRTP crypto comes from, read from the binary and its dynamic libraries. */
function srtpCrypto(bin) {
  const libs = execFileSync('ldd', [bin], { encoding: 'utf8' });
  const text = fs.readFileSync(bin).toString('latin1');
  const dynamic = [...new Set(libs.match(/lib(srtp2|nss3)\.so[.\d]*/g) ?? [])];
  const openssl = ['AES-128 GCM using openssl', 'AES-256 GCM using openssl', 'AES-128 counter mode using openssl', 'hmac sha-1 openssl'];
  if (!dynamic.length && openssl.every((d) => text.includes(d))) return 'OpenSSL (libsrtp2 linked in statically)';
  return `not OpenSSL: dynamic ${dynamic.join(', ') || 'none'}, OpenSSL ciphers ${openssl.filter((d) => text.includes(d)).length}/4`;
}

let worker;
try {
  log(`worker binary: ${process.env.MEDIASOUP_WORKER_BIN}`);
  log(`SRTP crypto: ${srtpCrypto(process.env.MEDIASOUP_WORKER_BIN)}`);
  worker = await mediasoup.createWorker({ logLevel: 'warn' });
  const died = new Promise((_, reject) => {
    worker.on('died', (error) => reject(new Error(`mediasoup-worker died: ${error?.message ?? error}`)));
  });
  const router = await worker.createRouter({
    mediaCodecs: [
      { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
      { kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
    ],
  });
  for (const profiles of [undefined, [0x0001]]) {
    await Promise.race([round(router, profiles), died]);
  }
  if (worker.died) throw new Error('mediasoup-worker died');
  worker.close();
  console.log('OK');
  process.exit(0);
} catch (error) {
  console.error('[smoke] FAILED:', error?.stack ?? error);
  try {
    worker?.close();
  } catch {
    // ignore
  }
  process.exit(1);
}
