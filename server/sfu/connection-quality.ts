// Per-student connection quality, collected from mediasoup's own statistics every few seconds (never per request)
// and pushed to each live class's staff room. One timer for the whole process; a class whose room has no student
// costs nothing. Students on HLS appear by mode (the server has no WebRTC statistics for them).
import dns from 'node:dns/promises';
import net from 'node:net';
import type { types } from 'mediasoup';
import { MAX_QUALITY_ENTRIES, QUALITY_INTERVAL_MS, type QualityPush, type StudentConnection } from '../contracts/connection-quality.ts';
import type { PresenceViewer } from '../contracts/live-class.ts';
import type { Logger } from '../log.ts';
import type { ClassroomPeer } from './classroom-peer.ts';
import type { ClassroomRoom } from './classroom-room.ts';
import type { RoomRegistry } from './room-registry.ts';

export interface ConnectionQualityOptions {
  rooms: RoomRegistry;
  /** Who is in the class and how they watch (the lifecycle's presence). */
  viewers: (classId: string) => PresenceViewer[] | undefined;
  /** Delivers a class's push to its staff. */
  publish: (push: QualityPush) => void;
  /** Receives every live class's totals each round (metrics), students or not. */
  summarise?: (summary: ClassMediaSummary) => void;
  /** TURN server URLs: media arriving from their addresses came through a relay. */
  turnUrls: string[];
  log: Logger;
  intervalMs?: number;
}

/** Addresses TURN relays send from: the TURN URLs' hosts (resolved once). */
async function relayAddresses(urls: string[]): Promise<Set<string>> {
  const hosts = new Set(urls.map((u) => /^turns?:\[?([^\]?]+?)\]?(?::\d+)?(?:\?.*)?$/.exec(u)?.[1]).filter((h): h is string => !!h));
  const out = new Set<string>();
  for (const host of hosts) {
    if (net.isIP(host)) out.add(host);
    else for (const { address } of await dns.lookup(host, { all: true }).catch(() => [])) out.add(address);
  }
  return out;
}

/** A live class's WebRTC delivery over all its students, from the same round of statistics. */
export interface ClassMediaSummary {
  classId: string;
  /** What the SFU sends the class's students, in bits per second. */
  egressBitsPerSecond: number;
  /** Mean fraction of packets lost towards the students with statistics; null without any. */
  lossRatio: number | null;
  /** Mean round-trip time to those students, in seconds; null without any. */
  rttSeconds: number | null;
}

const mean = (values: number[]): number | null => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);

export function summarise(classId: string, students: StudentConnection[]): ClassMediaSummary {
  const webrtc = students.filter((s) => s.mode === 'webrtc');
  return {
    classId,
    egressBitsPerSecond: webrtc.reduce((sum, s) => sum + (s.kbps ?? 0) * 1000, 0),
    lossRatio: mean(webrtc.flatMap((s) => (s.lossPct === undefined ? [] : [s.lossPct / 100]))),
    rttSeconds: mean(webrtc.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs / 1000]))),
  };
}

const SEVERITY = (s: StudentConnection): number =>
  s.mode !== 'webrtc' ? -1 : (10 - (s.score ?? 10)) * 100 + (s.lossPct ?? 0) * 10 + (s.rttMs ?? 0) / 100;

export class ConnectionQuality {
  readonly #o: ConnectionQualityOptions;
  readonly #timer: NodeJS.Timeout;
  #relays: Promise<Set<string>>;
  readonly #rooms = new Set<ClassroomRoom>();
  readonly #offs: (() => void)[] = [];
  #running = false;
  #closed = false;

  constructor(options: ConnectionQualityOptions) {
    this.#o = options;
    this.#relays = relayAddresses(options.turnUrls);
    const open = (room: ClassroomRoom): void => void this.#rooms.add(room);
    const close = (room: ClassroomRoom): void => void this.#rooms.delete(room);
    options.rooms.on('roomopen', open);
    options.rooms.on('roomclose', close);
    this.#offs.push(
      () => options.rooms.off('roomopen', open),
      () => options.rooms.off('roomclose', close),
    );
    this.#timer = setInterval(() => void this.#tick(), options.intervalMs ?? QUALITY_INTERVAL_MS);
    this.#timer.unref();
  }

  /** One round now (tests, and the next tick would do the same). */
  async collect(): Promise<QualityPush[]> {
    const relays = await this.#relays;
    const pushes: QualityPush[] = [];
    for (const room of [...this.#rooms]) {
      if (room.closed) continue;
      const push = await this.#forRoom(room, relays).catch((err: unknown) => {
        this.#o.log.warn({ err, classId: room.classId }, 'connection statistics failed');
        return undefined;
      });
      if (push) pushes.push(push);
    }
    return pushes;
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#closed) return; // a slow round is never overtaken by the next
    this.#running = true;
    try {
      for (const push of await this.collect()) if (!this.#closed) this.#o.publish(push);
    } finally {
      this.#running = false;
    }
  }

  async #forRoom(room: ClassroomRoom, relays: Set<string>): Promise<QualityPush | undefined> {
    const viewers = (this.#o.viewers(room.classId) ?? []).filter((v) => v.role === 'student');
    if (viewers.length === 0) {
      this.#o.summarise?.(summarise(room.classId, []));
      return undefined;
    }
    const layersOf = new Map(room.mediaSources().map((s) => [s.producer.id, s.producer.rtpParameters.encodings?.length ?? 1]));
    const peersByUser = new Map<string, ClassroomPeer>();
    for (const peer of room.peers()) if (peer.role === 'student' && peer.rtpCapabilities) peersByUser.set(peer.userId, peer);
    const students = await Promise.all(
      viewers.map(async (v): Promise<StudentConnection> => {
        const base: StudentConnection = { userId: v.userId, displayName: v.displayName, mode: v.mode };
        const peer = peersByUser.get(v.userId);
        return v.mode === 'webrtc' && peer ? { ...base, ...(await peerStats(peer, relays, layersOf)) } : base;
      }),
    );
    if (!room.closed) this.#o.summarise?.(summarise(room.classId, students));
    students.sort((a, b) => SEVERITY(b) - SEVERITY(a));
    return {
      classId: room.classId,
      at: new Date().toISOString(),
      students: students.slice(0, MAX_QUALITY_ENTRIES),
      more: Math.max(0, students.length - MAX_QUALITY_ENTRIES),
    };
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#offs) off();
    this.#rooms.clear();
  }
}

async function peerStats(peer: ClassroomPeer, relays: Set<string>, layersOf: Map<string, number>): Promise<Partial<StudentConnection>> {
  const recv = [...peer.transports.values()].find((t) => t.appData.direction === 'recv' && !t.closed);
  const out: Partial<StudentConnection> = {};
  if (recv) {
    const tuple = recv.iceSelectedTuple;
    if (tuple) out.via = tuple.remoteIp && relays.has(tuple.remoteIp) ? 'relay' : tuple.protocol;
  }
  let kbps = 0;
  for (const consumer of peer.consumers.values()) {
    if (consumer.closed) continue;
    const sent = (await consumer.getStats()).find((s) => s.type === 'outbound-rtp') as types.RtpStreamSendStats | undefined;
    if (!sent) continue;
    kbps += sent.bitrate / 1000;
    if (consumer.kind !== 'video' || (consumer.appData as { source?: string }).source !== 'camera') continue;
    if (sent.roundTripTime !== undefined) out.rttMs = Math.round(sent.roundTripTime);
    out.lossPct = Math.round((sent.fractionLost / 256) * 1000) / 10;
    out.score = consumer.score.score;
    const layers = consumer.currentLayers;
    const of = layersOf.get(consumer.producerId) ?? 1;
    out.layer = consumer.type === 'simulcast' ? (layers ? { spatial: layers.spatialLayer, of } : null) : { spatial: 0, of: 1 };
  }
  out.kbps = Math.round(kbps);
  return out;
}
