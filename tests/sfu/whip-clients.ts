// WHIP clients that are not the browser studio: an offer shaped like the one OBS's WHIP output makes (through
// libdatachannel: audio mid 0 / Opus PT 111, video mid 1 / PT 96, one SSRC each, no RTX, no header
// extensions, actpass, BUNDLE, rtcp-mux), and a Chromium page doing the plain WHIP exchange with fetch and an
// RTCPeerConnection (no mediasoup-client).
import crypto from 'node:crypto';
import type { Page } from 'playwright-core';

export type EncoderVideoCodec = 'H264' | 'VP8' | 'AV1' | 'H265';

const VIDEO_RTPMAP: Record<EncoderVideoCodec, { rtpmap: string; fmtp?: string }> = {
  H264: { rtpmap: 'H264/90000', fmtp: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1' },
  VP8: { rtpmap: 'VP8/90000' },
  AV1: { rtpmap: 'AV1/90000' },
  H265: { rtpmap: 'H265/90000' },
};

/** An encoder's offer as OBS sends it; `video: null` leaves the video out. */
export function encoderOffer(options: { video?: EncoderVideoCodec | null; audio?: 'opus' | 'PCMU' } = {}): string {
  const video = options.video === undefined ? 'H264' : options.video;
  const audio = options.audio ?? 'opus';
  const fingerprint = [...crypto.randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const ufrag = crypto.randomBytes(3).toString('hex');
  const pwd = crypto.randomBytes(12).toString('hex');
  const ssrc = crypto.randomInt(1, 2 ** 31);
  const cname = crypto.randomBytes(8).toString('hex');
  const lines = [
    'v=0',
    `o=rtc ${crypto.randomInt(1, 2 ** 31)} 0 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE 0${video ? ' 1' : ''}`,
    'a=msid-semantic:WMS *',
    'a=ice-options:ice2,trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    `m=audio 9 UDP/TLS/RTP/SAVPF ${audio === 'opus' ? 111 : 0}`,
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendonly',
    `a=ssrc:${ssrc} cname:${cname}`,
    `a=ssrc:${ssrc} msid:obs obs-audio`,
    'a=rtcp-mux',
    audio === 'opus' ? 'a=rtpmap:111 opus/48000/2' : 'a=rtpmap:0 PCMU/8000',
    ...(audio === 'opus' ? ['a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1'] : []),
    'a=setup:actpass',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`,
  ];
  if (video) {
    const { rtpmap, fmtp } = VIDEO_RTPMAP[video];
    lines.push(
      'm=video 9 UDP/TLS/RTP/SAVPF 96',
      'c=IN IP4 0.0.0.0',
      'a=mid:1',
      'a=sendonly',
      `a=ssrc:${ssrc + 1} cname:${cname}`,
      `a=ssrc:${ssrc + 1} msid:obs obs-video`,
      'a=rtcp-mux',
      `a=rtpmap:96 ${rtpmap}`,
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtcp-fb:96 goog-remb',
      ...(fmtp ? [`a=fmtp:96 ${fmtp}`] : []),
      'a=setup:actpass',
      `a=ice-ufrag:${ufrag}`,
      `a=ice-pwd:${pwd}`,
    );
  }
  return lines.join('\r\n') + '\r\n';
}

export interface BrowserWhipResult {
  status: number;
  location: string | null;
  etag: string | null;
  contentType: string | null;
  body: string;
}

/**
 * Publishes the page's fake camera and microphone to `whipUrl` with a plain RTCPeerConnection: the codec is
 * forced with setCodecPreferences, simulcast with three RIDs when asked; the offer is sent once ICE gathering
 * is complete (as OBS does: no trickle). The connection stays on `window.__whip` for later checks.
 */
export function publishFromBrowser(
  page: Page,
  options: { whipUrl: string; key: string; codec: 'H264' | 'VP8'; simulcast: boolean },
): Promise<BrowserWhipResult> {
  return page.evaluate(async ({ whipUrl, key, codec, simulcast }) => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360, frameRate: 30 }, audio: true });
    const pc = new RTCPeerConnection();
    const video = pc.addTransceiver(stream.getVideoTracks()[0]!, {
      direction: 'sendonly',
      ...(simulcast
        ? {
            sendEncodings: [
              { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
              { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
              { rid: 'f', maxBitrate: 1_200_000 },
            ],
          }
        : {}),
    });
    pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: 'sendonly' });
    const caps = RTCRtpSender.getCapabilities('video')!.codecs;
    const wanted = caps.filter(
      (c) =>
        c.mimeType === `video/${codec}` &&
        (codec !== 'H264' || (/packetization-mode=1/.test(c.sdpFmtpLine ?? '') && /profile-level-id=42e01f/.test(c.sdpFmtpLine ?? ''))),
    );
    if (wanted.length === 0) throw new Error(`This Chromium cannot send ${codec}`);
    video.setCodecPreferences([...wanted, ...caps.filter((c) => c.mimeType === 'video/rtx')]);
    await pc.setLocalDescription();
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
    const res = await fetch(whipUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: pc.localDescription!.sdp,
    });
    const body = await res.text();
    const location = res.headers.get('location');
    if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: body });
    (window as unknown as { __whip: unknown }).__whip = { pc, stream, location: location && new URL(location, whipUrl).href };
    return { status: res.status, location, etag: res.headers.get('etag'), contentType: res.headers.get('content-type'), body };
  }, options);
}

/** The publishing connection's state and what it has sent so far. */
export function browserWhipState(page: Page): Promise<{ state: string; framesSent: number; bytesSent: number }> {
  return page.evaluate(async () => {
    const { pc } = (window as unknown as { __whip: { pc: RTCPeerConnection } }).__whip;
    let framesSent = 0;
    let bytesSent = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp') {
        bytesSent += s.bytesSent ?? 0;
        if (s.kind === 'video') framesSent += s.framesSent ?? 0;
      }
    });
    return { state: pc.connectionState, framesSent, bytesSent };
  });
}

/** The encoder stops as OBS does: DELETE on the session resource with the same bearer token. */
export function stopFromBrowser(page: Page, key: string): Promise<number> {
  return page.evaluate(async (key) => {
    const whip = (window as unknown as { __whip: { pc: RTCPeerConnection; location: string } }).__whip;
    whip.pc.close();
    const res = await fetch(whip.location, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    return res.status;
  }, key);
}

/** The picture sizes the publishing page's encoder sends now (one per simulcast layer that is active). */
export function sentSizes(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const { pc } = (window as unknown as { __whip: { pc: RTCPeerConnection } }).__whip;
    const sizes: string[] = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.frameWidth) sizes.push(`${s.frameWidth}x${s.frameHeight}`);
    });
    return sizes;
  });
}
