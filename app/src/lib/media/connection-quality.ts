// Connection quality from WebRTC statistics: packet loss, round-trip time and jitter over the last interval.

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

export interface QualitySample {
  quality: Quality;
  lossPercent: number;
  rttMs: number | undefined;
  jitterMs: number | undefined;
  /** Received (or sent) media bits per second over the interval. */
  bitrate: number;
}

interface Totals {
  at: number;
  packets: number;
  lost: number;
  bytes: number;
}

/** Keeps the previous totals so each call reports the interval since the last one. */
export class QualityMeter {
  #previous: Totals | undefined;

  sample(report: RTCStatsReport | undefined): QualitySample {
    if (!report) return { quality: 'unknown', lossPercent: 0, rttMs: undefined, jitterMs: undefined, bitrate: 0 };
    let packets = 0;
    let lost = 0;
    let bytes = 0;
    let jitter: number | undefined;
    let rtt: number | undefined;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        packets += s.packetsReceived ?? 0;
        lost += Math.max(0, s.packetsLost ?? 0);
        bytes += s.bytesReceived ?? 0;
        if (typeof s.jitter === 'number') jitter = Math.max(jitter ?? 0, s.jitter * 1000);
      } else if (s.type === 'outbound-rtp') {
        packets += s.packetsSent ?? 0;
        bytes += s.bytesSent ?? 0;
      } else if (s.type === 'remote-inbound-rtp') {
        lost += Math.max(0, s.packetsLost ?? 0);
      } else if (s.type === 'candidate-pair' && s.nominated && typeof s.currentRoundTripTime === 'number') {
        rtt = s.currentRoundTripTime * 1000;
      }
    });
    const now = performance.now();
    const prev = this.#previous;
    this.#previous = { at: now, packets, lost, bytes };
    if (!prev) return { quality: 'unknown', lossPercent: 0, rttMs: rtt, jitterMs: jitter, bitrate: 0 };
    const dPackets = packets - prev.packets;
    const dLost = lost - prev.lost;
    const lossPercent = dPackets + dLost > 0 ? (100 * dLost) / (dPackets + dLost) : 0;
    const bitrate = ((bytes - prev.bytes) * 8 * 1000) / Math.max(1, now - prev.at);
    const quality: Quality =
      lossPercent > 8 || (rtt ?? 0) > 400 || (jitter ?? 0) > 80
        ? 'poor'
        : lossPercent > 2 || (rtt ?? 0) > 200 || (jitter ?? 0) > 40
          ? 'fair'
          : 'good';
    return { quality, lossPercent, rttMs: rtt, jitterMs: jitter, bitrate };
  }
}
