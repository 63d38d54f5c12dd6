// Each student's connection as the server sees it, pushed to the class's staff as `quality:update` every few
// seconds, so the teacher sees who is struggling. Bounded: the worst connections first, at most
// MAX_QUALITY_ENTRIES of them.

export const QUALITY_INTERVAL_MS = 5000;
export const MAX_QUALITY_ENTRIES = 200;

export interface StudentConnection {
  userId: string;
  displayName: string;
  /** How they receive the class: real time, the broadcast (HLS), or not yet. */
  mode: 'webrtc' | 'hls' | 'waiting';
  /** WebRTC only: how their media travels (UDP or TCP to the media server, or through a TURN relay). */
  via?: 'udp' | 'tcp' | 'relay';
  /** Round-trip time from their RTCP reports (ms). */
  rttMs?: number;
  /** Share of the video packets they report lost (percent, from their latest receiver report). */
  lossPct?: number;
  /** The teacher's camera layer they receive (0 = lowest), and how many there are; null while none flows. */
  layer?: { spatial: number; of: number } | null;
  /** What the media server sends them (kbit/s, all their consumers). */
  kbps?: number;
  /** mediasoup's 0-10 score of what they receive (10 = no loss). */
  score?: number;
}

export interface QualityPush {
  classId: string;
  at: string;
  students: StudentConnection[];
  /** Students left out because the list is bounded. */
  more: number;
}
