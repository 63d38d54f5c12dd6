// Reads the fragmented MP4 (CMAF) ffmpeg writes to a pipe: the initialisation section (ftyp + moov) and then
// one fragment (moof + mdat) at a time. Of each fragment the packager needs only three things, read from the
// boxes' headers: when it starts, how long it lasts and whether it starts on a key frame (an independent
// part). Box layouts: ISO/IEC 14496-12 (tkhd, mdhd, hdlr, trex, tfhd, tfdt, trun).

export interface Mp4Track {
  id: number;
  kind: 'video' | 'audio' | 'other';
  timescale: number;
  /** trex defaults, used when a fragment's tfhd/trun do not say. */
  defaultDuration: number;
  defaultFlags: number;
}

export interface Mp4Init {
  data: Uint8Array;
  tracks: Mp4Track[];
}

export interface Mp4Fragment {
  data: Uint8Array;
  /** Start of the fragment on the reference track's timeline, in seconds. */
  startSeconds: number;
  /** Duration on the reference track (the video when there is one), in seconds. */
  durationSeconds: number;
  /** The reference track's first sample is a sync sample (a key frame): playback can start here. */
  independent: boolean;
  /** The fragment carries video samples (or the stream has no video track). */
  hasVideo: boolean;
}

/** sample_is_non_sync_sample in the sample flags. */
const NON_SYNC = 0x00010000;
/** Boxes nested inside these are read too. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'mvex', 'moof', 'traf']);
/** A box larger than this is refused: a fragment of a few hundred milliseconds is far smaller. */
const MAX_BOX_BYTES = 64 * 1024 * 1024;

interface Box {
  type: string;
  /** The box's payload (after its header). */
  body: Uint8Array;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** The boxes directly inside `data`. */
function children(data: Uint8Array): Box[] {
  const out: Box[] = [];
  const v = view(data);
  let offset = 0;
  while (offset + 8 <= data.byteLength) {
    let size = v.getUint32(offset);
    const type = String.fromCharCode(...data.subarray(offset + 4, offset + 8));
    let header = 8;
    if (size === 1) {
      if (offset + 16 > data.byteLength) break;
      size = Number(v.getBigUint64(offset + 8));
      header = 16;
    } else if (size === 0) {
      size = data.byteLength - offset;
    }
    if (size < header || offset + size > data.byteLength) break;
    out.push({ type, body: data.subarray(offset + header, offset + size) });
    offset += size;
  }
  return out;
}

function find(data: Uint8Array, path: string[]): Box[] {
  let level: Box[] = children(data);
  for (const [i, type] of path.entries()) {
    const matches = level.filter((b) => b.type === type);
    if (i === path.length - 1) return matches;
    level = matches.flatMap((b) => (CONTAINERS.has(b.type) ? children(b.body) : []));
  }
  return [];
}

/** The tracks an initialisation section (ftyp + moov) describes. */
export function parseInit(data: Uint8Array): Mp4Track[] {
  const trexById = new Map<number, { duration: number; flags: number }>();
  for (const trex of find(data, ['moov', 'mvex', 'trex'])) {
    const v = view(trex.body);
    trexById.set(v.getUint32(4), { duration: v.getUint32(12), flags: v.getUint32(20) });
  }
  return find(data, ['moov', 'trak']).map((trak) => {
    const tkhd = children(trak.body).find((b) => b.type === 'tkhd');
    const mdia = children(trak.body).find((b) => b.type === 'mdia');
    if (!tkhd || !mdia) throw new Error('A track without tkhd or mdia');
    const tv = view(tkhd.body);
    const id = tv.getUint32(tkhd.body[0] === 1 ? 20 : 12);
    const mdhd = children(mdia.body).find((b) => b.type === 'mdhd');
    const hdlr = children(mdia.body).find((b) => b.type === 'hdlr');
    if (!mdhd || !hdlr) throw new Error('A track without mdhd or hdlr');
    const timescale = view(mdhd.body).getUint32(mdhd.body[0] === 1 ? 20 : 12);
    const handler = String.fromCharCode(...hdlr.body.subarray(8, 12));
    const trex = trexById.get(id);
    return {
      id,
      kind: handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other',
      timescale,
      defaultDuration: trex?.duration ?? 0,
      defaultFlags: trex?.flags ?? 0,
    };
  });
}

interface TrackRun {
  trackId: number;
  decodeTime: number;
  duration: number;
  firstFlags: number;
}

function parseTraf(traf: Uint8Array, tracks: readonly Mp4Track[]): TrackRun | null {
  const boxes = children(traf);
  const tfhd = boxes.find((b) => b.type === 'tfhd');
  if (!tfhd) return null;
  const hv = view(tfhd.body);
  const tfhdFlags = hv.getUint32(0) & 0xffffff;
  const trackId = hv.getUint32(4);
  const track = tracks.find((t) => t.id === trackId);
  let at = 8;
  if (tfhdFlags & 0x1) at += 8;
  if (tfhdFlags & 0x2) at += 4;
  let defaultDuration = track?.defaultDuration ?? 0;
  let defaultFlags = track?.defaultFlags ?? 0;
  if (tfhdFlags & 0x8) defaultDuration = hv.getUint32((at += 4) - 4);
  if (tfhdFlags & 0x10) at += 4;
  if (tfhdFlags & 0x20) defaultFlags = hv.getUint32(at);

  const tfdt = boxes.find((b) => b.type === 'tfdt');
  let decodeTime = 0;
  if (tfdt) {
    const dv = view(tfdt.body);
    decodeTime = tfdt.body[0] === 1 ? Number(dv.getBigUint64(4)) : dv.getUint32(4);
  }
  let duration = 0;
  let firstFlags: number | undefined;
  for (const trun of boxes.filter((b) => b.type === 'trun')) {
    const rv = view(trun.body);
    const flags = rv.getUint32(0) & 0xffffff;
    const count = rv.getUint32(4);
    let pos = 8;
    if (flags & 0x1) pos += 4;
    let first: number | undefined;
    if (flags & 0x4) first = rv.getUint32((pos += 4) - 4);
    const perSample = [0x100, 0x200, 0x400, 0x800].filter((f) => flags & f).length * 4;
    for (let i = 0; i < count; i++) {
      if (pos + perSample > trun.body.byteLength) break;
      let p = pos;
      const sampleDuration = flags & 0x100 ? rv.getUint32((p += 4) - 4) : defaultDuration;
      if (flags & 0x200) p += 4;
      const sampleFlags = flags & 0x400 ? rv.getUint32(p) : i === 0 && first !== undefined ? first : defaultFlags;
      firstFlags ??= sampleFlags;
      duration += sampleDuration;
      pos += perSample;
    }
  }
  return { trackId, decodeTime, duration, firstFlags: firstFlags ?? defaultFlags };
}

/** Timing and independence of one fragment (moof + mdat), on the video track when there is one. */
export function describeFragment(data: Uint8Array, tracks: readonly Mp4Track[]): Omit<Mp4Fragment, 'data'> {
  const runs = find(data, ['moof', 'traf']).flatMap((traf) => parseTraf(traf.body, tracks) ?? []);
  const video = tracks.find((t) => t.kind === 'video');
  const reference = video ?? tracks[0];
  const videoRun = runs.find((r) => r.trackId === reference?.id && r.duration > 0);
  // A fragment with no video in a stream that has video (the muxer's last audio, after the video ended):
  // timed by its audio, and nothing a player could start from.
  const run = videoRun ?? runs[0];
  const track = tracks.find((t) => t.id === run?.trackId);
  const hasVideo = !video || videoRun !== undefined;
  if (!run || !track || !track.timescale) return { startSeconds: 0, durationSeconds: 0, independent: false, hasVideo: false };
  return {
    startSeconds: run.decodeTime / track.timescale,
    durationSeconds: run.duration / track.timescale,
    independent: video ? hasVideo && (run.firstFlags & NON_SYNC) === 0 : true,
    hasVideo,
  };
}

/**
 * Splits a fragmented MP4 byte stream into its initialisation section and fragments as the bytes arrive
 * (push() returns what the bytes completed). A box the stream cannot hold is an error.
 */
export class Mp4FragmentReader {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #initBoxes: Uint8Array[] = [];
  #init: Mp4Init | null = null;
  #moof: Uint8Array | null = null;

  get init(): Mp4Init | null {
    return this.#init;
  }

  push(chunk: Uint8Array): Array<{ init: Mp4Init } | { fragment: Mp4Fragment }> {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    const out: Array<{ init: Mp4Init } | { fragment: Mp4Fragment }> = [];
    for (;;) {
      const box = this.#nextBox();
      if (!box) break;
      const type = String.fromCharCode(...box.subarray(4, 8));
      if (!this.#init) {
        this.#initBoxes.push(box);
        if (type === 'moov') {
          const data = concat(this.#initBoxes);
          this.#init = { data, tracks: parseInit(data) };
          this.#initBoxes = [];
          out.push({ init: this.#init });
        }
      } else if (type === 'moof') {
        this.#moof = box;
      } else if (type === 'mdat' && this.#moof) {
        const data = concat([this.#moof, box]);
        this.#moof = null;
        out.push({ fragment: { data, ...describeFragment(data, this.#init.tracks) } });
      }
      // Anything else (styp, sidx, the closing mfra) carries nothing a part needs.
    }
    return out;
  }

  /** The next whole top-level box, if the bytes so far hold one. */
  #nextBox(): Uint8Array | null {
    if (this.#pendingBytes < 8) return null;
    const head = this.#peek(16);
    const v = view(head);
    let size = v.getUint32(0);
    if (size === 1) {
      if (head.byteLength < 16) return null;
      size = Number(v.getBigUint64(8));
    }
    if (size < 8 || size > MAX_BOX_BYTES) throw new Error(`An MP4 box of ${size} bytes`);
    if (this.#pendingBytes < size) return null;
    const all = concat(this.#pending);
    this.#pending = size < all.byteLength ? [all.subarray(size)] : [];
    this.#pendingBytes -= size;
    return all.slice(0, size);
  }

  #peek(bytes: number): Uint8Array {
    const first = this.#pending[0]!;
    if (first.byteLength >= bytes || this.#pending.length === 1) return first.subarray(0, bytes);
    return concat(this.#pending).subarray(0, bytes);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
