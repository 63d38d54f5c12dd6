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

/**
 * A published video's key frames are asked of its sender at most this often (per simulcast layer); requests in
 * between are merged into one at the end of the interval. Every consumer's request (a student joining or
 * climbing a layer, a student's decoder after loss, the HLS bridge after a decode error) makes the teacher's
 * browser encode a key frame, several times the size of a delta frame, that every student on that layer then
 * receives: in a class of lossy links, unthrottled requests become a stream of key frames that adds delay and
 * loss for everyone. One second is the usual SFU figure for the layers students watch; it bounds what a merged
 * request can wait, and the first request after a quiet second goes out at once.
 */
export const KEY_FRAME_REQUEST_INTERVAL_MS = 1000;
