// What a classroom Router speaks: Opus for audio; VP8 for everyone plus H.264 (baseline and constrained
// baseline, packetization-mode 1) for Safari. mediasoup adds RTX for every video codec on its own.
import type { types } from 'mediasoup';

export const ROUTER_MEDIA_CODECS: types.RouterRtpCodecCapability[] = [
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, parameters: { useinbandfec: 1, usedtx: 1 } },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90000, parameters: { 'x-google-start-bitrate': 1000 } },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1, 'x-google-start-bitrate': 1000 },
  },
  {
    kind: 'video',
    mimeType: 'video/H264',
    clockRate: 90000,
    parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0032', 'level-asymmetry-allowed': 1, 'x-google-start-bitrate': 1000 },
  },
];

/** What a new WebRTC transport assumes it may send before the bandwidth estimator has measured (bits/s). */
export const INITIAL_OUTGOING_BITRATE = 600_000;
/** Upper bound of what one publisher may send in (bits/s): 3 camera layers + a screen share + audio. */
export const MAX_INCOMING_BITRATE = 6_000_000;
