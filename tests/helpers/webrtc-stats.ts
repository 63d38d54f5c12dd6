// What a page's WebRTC actually does, read from its peer connections' statistics: frames decoded and the
// candidate pair that carries them (host/relay, UDP/TCP, which address), so a test can tell WebRTC from HLS
// and one network path from another.
import type { Page } from 'playwright-core';

/** An init script: keeps every RTCPeerConnection the page makes in window.__pcs. */
export const RECORD_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();`;

/** An init script: every peer connection of the page may only use TURN relays (a student behind a symmetric NAT). */
export const FORCE_RELAY = `(() => {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) { super({ ...(config || {}), iceTransportPolicy: 'relay' }, ...rest); }
  };
})();`;

export interface MediaPath {
  framesDecoded: number;
  /** The selected pair of the connection that decodes video: the server's side and ours. */
  remote: { address: string; port: number; protocol: string; candidateType: string } | undefined;
  local: { candidateType: string; protocol: string; relayProtocol: string | undefined } | undefined;
}

/** Frames decoded by the page's receiving peer connections and the candidate pair carrying them. */
export function mediaPath(page: Page): Promise<MediaPath> {
  return page.evaluate(async () => {
    const out: MediaPath = { framesDecoded: 0, remote: undefined, local: undefined };
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      let decoded = 0;
      stats.forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') decoded += s.framesDecoded ?? 0;
      });
      if (decoded === 0) continue;
      out.framesDecoded += decoded;
      stats.forEach((s) => {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = stats.get(s.selectedCandidatePairId);
        const remote = stats.get(pair.remoteCandidateId);
        const local = stats.get(pair.localCandidateId);
        out.remote = { address: remote.address, port: remote.port, protocol: remote.protocol, candidateType: remote.candidateType };
        out.local = { candidateType: local.candidateType, protocol: local.protocol, relayProtocol: local.relayProtocol };
      });
    }
    return out;
  });
}
