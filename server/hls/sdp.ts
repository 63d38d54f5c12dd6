// The SDP that tells ffmpeg what RTP arrives where: one m= section per consumer, in a fixed order, with the
// consumer's codec (payload type, clock rate, channels, fmtp) and the port pair ffmpeg listens on.
import dgram from 'node:dgram';
import type { types } from 'mediasoup';

export interface SdpStream {
  kind: 'audio' | 'video';
  /** ffmpeg's RTP port; RTCP is on port + 1. */
  port: number;
  codec: types.RtpCodecParameters;
}

export function writeSdp(streams: readonly SdpStream[], ip = '127.0.0.1'): string {
  const lines = ['v=0', `o=- 0 0 IN IP4 ${ip}`, 's=Lectern HLS bridge', `c=IN IP4 ${ip}`, 't=0 0'];
  for (const s of streams) {
    const c = s.codec;
    const encoding = c.mimeType.split('/')[1]!;
    lines.push(`m=${s.kind} ${s.port} RTP/AVP ${c.payloadType}`);
    lines.push(`a=rtpmap:${c.payloadType} ${encoding}/${c.clockRate}${s.kind === 'audio' && c.channels ? `/${c.channels}` : ''}`);
    const fmtp = Object.entries(c.parameters ?? {}).map(([k, v]) => `${k}=${v}`);
    if (fmtp.length) lines.push(`a=fmtp:${c.payloadType} ${fmtp.join(';')}`);
    lines.push(`a=rtcp:${s.port + 1}`, 'a=recvonly');
  }
  return lines.join('\r\n') + '\r\n';
}

function bindable(port: number, address: string): Promise<dgram.Socket | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(null);
    });
    socket.bind(port, address, () => resolve(socket));
  });
}

/**
 * An even UDP port whose neighbour is free too (RTP + RTCP for ffmpeg). The sockets are released before
 * returning; ffmpeg binds them a moment later (a small race that a retry of the run covers).
 */
export async function freeRtpPortPair(address = '127.0.0.1', attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const probe = await bindable(0, address);
    if (!probe) continue;
    const base = probe.address().port & ~1;
    probe.close();
    if (base < 1024 || base > 65534) continue;
    const rtp = await bindable(base, address);
    const rtcp = rtp ? await bindable(base + 1, address) : null;
    rtp?.close();
    rtcp?.close();
    if (rtp && rtcp) return base;
  }
  throw new Error('No free UDP port pair for ffmpeg');
}
