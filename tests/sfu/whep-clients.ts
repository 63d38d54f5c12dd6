// WHEP players that are not the class page: a receive-only offer shaped like Chromium's (audio mid 0 / Opus 111,
// video mid 1 / VP8 96 with RTX 97, H.264 102 with RTX 103, its header-extension ids), and a Chromium page doing
// the plain WHEP exchange with fetch and an RTCPeerConnection (no mediasoup-client).
import crypto from 'node:crypto';
import type { Page } from 'playwright-core';

export interface ViewerOfferOptions {
  /** Video codecs offered, in order of preference; [] leaves the video section out. */
  video?: ('VP8' | 'H264' | 'AV1')[];
  audio?: boolean;
  /** The direction of every section (a player's is recvonly). */
  direction?: 'recvonly' | 'sendonly' | 'sendrecv';
  /** Header extensions of every section as uri -> id (Chromium's ids by default). */
  extensions?: Record<string, number>;
}

export const CHROMIUM_EXTENSIONS: Record<string, number> = {
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level': 1,
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time': 2,
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01': 3,
  'urn:ietf:params:rtp-hdrext:sdes:mid': 4,
};

const VIDEO: Record<'VP8' | 'H264' | 'AV1', { pt: number; rtx: number; rtpmap: string; fmtp?: string }> = {
  VP8: { pt: 96, rtx: 97, rtpmap: 'VP8/90000' },
  H264: { pt: 102, rtx: 103, rtpmap: 'H264/90000', fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
  AV1: { pt: 45, rtx: 46, rtpmap: 'AV1/90000' },
};

export function viewerOffer(options: ViewerOfferOptions = {}): string {
  const video = options.video ?? ['VP8', 'H264'];
  const audio = options.audio ?? true;
  const direction = options.direction ?? 'recvonly';
  const extensions = Object.entries(options.extensions ?? CHROMIUM_EXTENSIONS);
  const fingerprint = [...crypto.randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const ufrag = crypto.randomBytes(3).toString('hex');
  const pwd = crypto.randomBytes(12).toString('hex');
  const mids = [...(audio ? ['0'] : []), ...(video.length ? ['1'] : [])];
  const common = (mid: string) => [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    `a=mid:${mid}`,
    ...extensions.map(([uri, id]) => `a=extmap:${id} ${uri}`),
    `a=${direction}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  const lines = [
    'v=0',
    `o=- ${crypto.randomInt(1, 2 ** 31)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS',
  ];
  if (audio)
    lines.push(
      'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 0',
      ...common('0'),
      'a=rtpmap:111 opus/48000/2',
      'a=rtcp-fb:111 transport-cc',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtpmap:63 red/48000/2',
      'a=fmtp:63 111/111',
      'a=rtpmap:0 PCMU/8000',
    );
  if (video.length) {
    const pts = video.flatMap((v) => [VIDEO[v].pt, VIDEO[v].rtx]);
    lines.push(`m=video 9 UDP/TLS/RTP/SAVPF ${pts.join(' ')}`, ...common('1'));
    for (const v of video) {
      const { pt, rtx, rtpmap, fmtp } = VIDEO[v];
      lines.push(
        `a=rtpmap:${pt} ${rtpmap}`,
        `a=rtcp-fb:${pt} goog-remb`,
        `a=rtcp-fb:${pt} transport-cc`,
        `a=rtcp-fb:${pt} ccm fir`,
        `a=rtcp-fb:${pt} nack`,
        `a=rtcp-fb:${pt} nack pli`,
        ...(fmtp ? [`a=fmtp:${pt} ${fmtp}`] : []),
        `a=rtpmap:${rtx} rtx/90000`,
        `a=fmtp:${rtx} apt=${pt}`,
      );
    }
  }
  return lines.join('\r\n') + '\r\n';
}

export interface BrowserWhepResult {
  status: number;
  location: string | null;
  etag: string | null;
  contentType: string | null;
  body: string;
}

/**
 * Plays `whepUrl` in the page with a plain RTCPeerConnection: a recvonly video and audio transceiver, the offer
 * sent once ICE gathering is complete, with `token` as the bearer (or the page's cookie when none). The
 * connection stays on `window.__whep` for later checks.
 */
export function playFromBrowser(page: Page, options: { whepUrl: string; token?: string }): Promise<BrowserWhepResult> {
  return page.evaluate(async ({ whepUrl, token }) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription();
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
    const res = await fetch(whepUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: pc.localDescription!.sdp,
    });
    const body = await res.text();
    const location = res.headers.get('location');
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: body });
    (window as unknown as { __whep: unknown }).__whep = { pc, location: location && new URL(location, whepUrl).href };
    return { status: res.status, location, etag: res.headers.get('etag'), contentType: res.headers.get('content-type'), body };
  }, options);
}

/**
 * What the playing connection has received: its state, video frames decoded (in all, and per stream: a new
 * source arrives as a new SSRC), the largest picture width, audio packets.
 */
export function browserWhepState(page: Page): Promise<{
  state: string;
  framesDecoded: number;
  width: number;
  audioPackets: number;
  videoStreams: { ssrc: number; framesDecoded: number }[];
}> {
  return page.evaluate(async () => {
    const { pc } = (window as unknown as { __whep: { pc: RTCPeerConnection } }).__whep;
    const out = {
      state: pc.connectionState,
      framesDecoded: 0,
      width: 0,
      audioPackets: 0,
      videoStreams: [] as { ssrc: number; framesDecoded: number }[],
    };
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        out.framesDecoded += s.framesDecoded ?? 0;
        out.width = Math.max(out.width, s.frameWidth ?? 0);
        out.videoStreams.push({ ssrc: s.ssrc, framesDecoded: s.framesDecoded ?? 0 });
      }
      if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
    });
    return out;
  });
}

/** The player stops: closes its connection, then DELETE on the session resource with the same credentials. */
export function stopPlaying(page: Page, token?: string): Promise<number> {
  return page.evaluate(async (token) => {
    const whep = (window as unknown as { __whep: { pc: RTCPeerConnection; location: string } }).__whep;
    whep.pc.close();
    const res = await fetch(whep.location, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} });
    return res.status;
  }, token);
}
