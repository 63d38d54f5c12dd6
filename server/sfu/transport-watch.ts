// When a WebRTC session negotiated over HTTP (WHIP, WHEP) is lost: such a client has no socket whose end would
// say it left, so its transport's states do. DTLS closing or failing ends it at once; ICE that never connects, or
// stays disconnected, ends it after a while (a client that vanished without DELETE).
import type { types } from 'mediasoup';

export interface SessionTimeouts {
  /** How long after the answer ICE may take to connect. */
  connectMs: number;
  /** How long ICE may stay disconnected before the session is given up. */
  disconnectedMs: number;
}

export type TransportLoss = 'ice' | 'dtls';

/** Calls `onLost` once the transport's connection is lost; the returned function stops watching. */
export function watchTransport(
  transport: types.WebRtcTransport,
  timeouts: SessionTimeouts,
  onLost: (cause: TransportLoss) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const giveUpAfter = (ms: number, still: () => boolean): void => {
    clearTimeout(timer);
    timer = setTimeout(() => still() && onLost('ice'), ms);
    timer.unref();
  };
  const onDtls = (state: types.DtlsState): void => {
    if (state === 'failed' || state === 'closed') onLost('dtls');
  };
  const onIce = (state: types.IceState): void => {
    clearTimeout(timer);
    timer = undefined;
    if (state === 'disconnected') giveUpAfter(timeouts.disconnectedMs, () => transport.iceState === 'disconnected');
  };
  transport.on('dtlsstatechange', onDtls);
  transport.on('icestatechange', onIce);
  giveUpAfter(timeouts.connectMs, () => transport.iceState === 'new');
  return () => {
    clearTimeout(timer);
    transport.off('dtlsstatechange', onDtls);
    transport.off('icestatechange', onIce);
  };
}
