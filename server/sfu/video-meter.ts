// Measures what an encoder actually sends: the picture size (read from key frames: the VP8 key-frame header,
// or the H.264 sequence parameter set) and the frame rate (distinct RTP timestamps per second) of a video
// producer's top layer. mediasoup's statistics have neither, so the meter consumes the top layer over a
// DirectTransport of the same Router and reads the RTP itself. It owns that transport; close() closes it.
import type { types } from 'mediasoup';

export interface VideoMeasure {
  width: number | null;
  height: number | null;
  frameRate: number | null;
}

const WINDOW_MS = 2000;

export class VideoMeter {
  readonly #transport: types.DirectTransport;
  readonly #mime: string;
  #size: { width: number; height: number } | undefined;
  /** RTP timestamps of the frames seen, with when they arrived. */
  #frames: { ts: number; at: number }[] = [];
  #lastTimestamp: number | undefined;
  #closed = false;

  static async open(router: types.Router, producer: types.Producer): Promise<VideoMeter> {
    const transport = await router.createDirectTransport();
    try {
      const consumer = await transport.consume({
        producerId: producer.id,
        rtpCapabilities: router.rtpCapabilities,
        ...(producer.type === 'simulcast'
          ? { preferredLayers: { spatialLayer: (producer.rtpParameters.encodings?.length ?? 1) - 1, temporalLayer: 2 } }
          : {}),
      });
      return new VideoMeter(transport, consumer);
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  private constructor(transport: types.DirectTransport, consumer: types.Consumer) {
    this.#transport = transport;
    this.#mime = consumer.rtpParameters.codecs[0]?.mimeType.toLowerCase() ?? '';
    const payloadType = consumer.rtpParameters.codecs[0]?.payloadType;
    consumer.on('rtp', (packet) => this.#onRtp(packet, payloadType));
  }

  measure(now = Date.now()): VideoMeasure {
    this.#frames = this.#frames.filter((f) => now - f.at <= WINDOW_MS);
    let frameRate: number | null = null;
    if (this.#frames.length >= 2) {
      const first = this.#frames[0]!;
      const last = this.#frames.at(-1)!;
      const seconds = ((last.ts - first.ts) >>> 0) / 90_000;
      if (seconds > 0.2) frameRate = Math.round((this.#frames.length - 1) / seconds);
    }
    return { width: this.#size?.width ?? null, height: this.#size?.height ?? null, frameRate };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
  }

  #onRtp(packet: Buffer, payloadType: number | undefined): void {
    if (packet.length < 12 || packet[0]! >> 6 !== 2) return;
    if (payloadType !== undefined && (packet[1]! & 0x7f) !== payloadType) return; // RTX and the like
    const timestamp = packet.readUInt32BE(4);
    if (timestamp !== this.#lastTimestamp) {
      this.#lastTimestamp = timestamp;
      this.#frames.push({ ts: timestamp, at: Date.now() });
      if (this.#frames.length > 600) this.#frames.splice(0, this.#frames.length - 600);
    }
    let offset = 12 + (packet[0]! & 0x0f) * 4;
    if (packet[0]! & 0x10) {
      if (packet.length < offset + 4) return;
      offset += 4 + packet.readUInt16BE(offset + 2) * 4;
    }
    let end = packet.length;
    if (packet[0]! & 0x20) end -= packet[end - 1]!; // padding
    if (offset >= end) return;
    const payload = packet.subarray(offset, end);
    const size = this.#mime === 'video/vp8' ? vp8KeyFrameSize(payload) : this.#mime === 'video/h264' ? h264PacketSize(payload) : undefined;
    if (size) this.#size = size;
  }
}

/** The size in a VP8 key frame's first packet (RFC 7741 payload descriptor, then RFC 6386's frame header). */
export function vp8KeyFrameSize(payload: Buffer): { width: number; height: number } | undefined {
  let i = 0;
  const first = payload[i++];
  if (first === undefined) return undefined;
  const start = (first & 0x10) !== 0 && (first & 0x07) === 0;
  if (!start) return undefined;
  if (first & 0x80) {
    const ext = payload[i++] ?? 0;
    if (ext & 0x80) i += (payload[i] ?? 0) & 0x80 ? 2 : 1; // picture id, 7 or 15 bits
    if (ext & 0x40) i += 1; // TL0PICIDX
    if (ext & 0x30) i += 1; // TID/KEYIDX
  }
  if (payload.length < i + 10) return undefined;
  if ((payload[i]! & 0x01) !== 0) return undefined; // inter frame
  if (payload[i + 3] !== 0x9d || payload[i + 4] !== 0x01 || payload[i + 5] !== 0x2a) return undefined;
  const width = payload.readUInt16LE(i + 6) & 0x3fff;
  const height = payload.readUInt16LE(i + 8) & 0x3fff;
  return width && height ? { width, height } : undefined;
}

/** The size in an H.264 packet's SPS: a single NAL unit, a STAP-A, or the first fragment of an FU-A. */
export function h264PacketSize(payload: Buffer): { width: number; height: number } | undefined {
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === 7) return spsSize(payload);
  if (type === 24) {
    for (let i = 1; i + 2 <= payload.length;) {
      const length = payload.readUInt16BE(i);
      const nal = payload.subarray(i + 2, i + 2 + length);
      if (((nal[0] ?? 0) & 0x1f) === 7) return spsSize(nal);
      i += 2 + length;
    }
  }
  if (type === 28 && payload.length > 2 && (payload[1]! & 0x80) !== 0 && (payload[1]! & 0x1f) === 7) {
    return spsSize(Buffer.concat([Buffer.from([(payload[0]! & 0xe0) | 7]), payload.subarray(2)]));
  }
  return undefined;
}

class BitReader {
  #bytes: Buffer;
  #bit = 0;
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  bit(): number {
    const byte = this.#bytes[this.#bit >> 3];
    if (byte === undefined) throw new RangeError('end of SPS');
    const value = (byte >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new RangeError('bad exp-Golomb code');
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Picture size from a sequence parameter set (ITU-T H.264 7.3.2.1.1), NAL header included. */
export function spsSize(nal: Buffer): { width: number; height: number } | undefined {
  // Emulation prevention: 00 00 03 -> 00 00.
  const rbsp: number[] = [];
  let zeros = 0;
  for (let i = 1; i < nal.length; i++) {
    const byte = nal[i]!;
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    rbsp.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  try {
    const r = new BitReader(Buffer.from(rbsp));
    const profile = r.bits(8);
    r.bits(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chromaFormat = 1;
    if (HIGH_PROFILES.has(profile)) {
      chromaFormat = r.ue();
      if (chromaFormat === 3) r.bit();
      r.ue();
      r.ue();
      r.bit();
      if (r.bit()) {
        for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++) {
          if (!r.bit()) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
            next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.bit();
      r.se();
      r.se();
      const cycle = r.ue();
      for (let i = 0; i < cycle; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.bit();
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.bit();
    if (!frameMbsOnly) r.bit();
    r.bit();
    let [left, right, top, bottom] = [0, 0, 0, 0];
    if (r.bit()) [left, right, top, bottom] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const cropX = chromaFormat === 0 || chromaFormat === 3 ? 1 : 2;
    const cropY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - (left + right) * cropX;
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - (top + bottom) * cropY;
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}
