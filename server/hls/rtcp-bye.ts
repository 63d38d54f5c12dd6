// RTCP BYE (RFC 3550 6.6) to ffmpeg's RTP inputs: "this source has left". ffmpeg's SDP demuxer ends its
// input once every stream has said BYE, so a bridge run can finish cleanly (flush the encoders, write the
// last segment and playlists) even after mediasoup stopped sending: a plain SIGINT is not seen while ffmpeg
// waits for a packet that never comes.
import dgram from 'node:dgram';

export interface ByeTarget {
  /** ffmpeg's RTP port; RTCP is on port + 1 (the SDP says so). */
  port: number;
  ssrc: number;
}

/**
 * A compound RTCP packet, as RFC 3550 wants them: an empty receiver report (V=2, RC=0, PT=201) then the BYE
 * (V=2, SC=1, PT=203), each two 32-bit words naming the SSRC. ffmpeg ignores anything under 12 bytes, so a
 * bare 8-byte BYE would not do.
 */
export function rtcpByePacket(ssrc: number): Buffer {
  const packet = Buffer.alloc(16);
  packet.writeUInt8(0x80, 0);
  packet.writeUInt8(201, 1);
  packet.writeUInt16BE(1, 2);
  packet.writeUInt32BE(ssrc >>> 0, 4);
  packet.writeUInt8(0x81, 8);
  packet.writeUInt8(203, 9);
  packet.writeUInt16BE(1, 10);
  packet.writeUInt32BE(ssrc >>> 0, 12);
  return packet;
}

/** Sends a BYE for every target to its RTCP port (twice: UDP on loopback rarely drops, but it may). */
export async function sendRtcpBye(ip: string, targets: readonly ByeTarget[], repeats = 2): Promise<void> {
  if (targets.length === 0) return;
  const socket = dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4');
  // A closed port (ffmpeg already gone) answers with ICMP: nothing to do about it.
  socket.on('error', () => {});
  try {
    for (let i = 0; i < repeats; i++) {
      for (const t of targets) {
        await new Promise<void>((resolve) => socket.send(rtcpByePacket(t.ssrc), t.port + 1, ip, () => resolve()));
      }
    }
  } finally {
    socket.close();
  }
}
