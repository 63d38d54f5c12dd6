// Whether the teacher's media reaches the media server, read from the teacher's producers' receive statistics
// (packets counted) once a second for every open room of this process. A producer flows while its packet count
// rose within the last few seconds. Changes are announced per class (`change`), so the studio says "live" only
// when media really arrives and students learn when it does not. One timer for the process; a room without a
// publishing teacher costs one look at its peers.
import { EventEmitter } from 'node:events';
import type { MediaSourceName, TeacherMediaPush } from '../contracts/sfu.ts';
import type { Logger } from '../log.ts';
import type { ClassroomRoom } from './classroom-room.ts';
import type { ProducerAppData } from './media-source.ts';
import type { RoomRegistry } from './room-registry.ts';

/** How often the producers' statistics are read. */
export const FLOW_POLL_MS = 1000;
/** A source whose packet count has not risen for this long no longer flows (DTX audio still sends ~2.5 packets/s). */
export const FLOW_STALL_MS = 3000;

interface ProducerFlow {
  packets: number;
  /** When its packet count last rose (0: never). */
  risenAt: number;
}

type TeacherMediaFlowEvents = { change: [TeacherMediaPush] };

export interface TeacherMediaFlowOptions {
  rooms: RoomRegistry;
  log: Logger;
  pollMs?: number;
  stallMs?: number;
}

export class TeacherMediaFlow extends EventEmitter<TeacherMediaFlowEvents> {
  readonly #log: Logger;
  readonly #stallMs: number;
  readonly #timer: NodeJS.Timeout;
  readonly #producers = new Map<string, ProducerFlow>();
  readonly #last = new Map<string, TeacherMediaPush>();
  readonly #open = new Set<ClassroomRoom>();
  readonly #offs: (() => void)[] = [];
  #running = false;
  #closed = false;

  constructor(options: TeacherMediaFlowOptions) {
    super();
    this.setMaxListeners(0);
    this.#log = options.log;
    this.#stallMs = options.stallMs ?? FLOW_STALL_MS;
    // An edge room (cluster) has no teacher publishing into it: the origin node's flow speaks for the class.
    const opened = (room: ClassroomRoom): void => void (room.fedFrom || this.#open.add(room));
    const closed = (room: ClassroomRoom): void => {
      this.#open.delete(room);
      this.#last.delete(room.classId);
    };
    options.rooms.on('roomopen', opened);
    options.rooms.on('roomclose', closed);
    this.#offs.push(
      () => options.rooms.off('roomopen', opened),
      () => options.rooms.off('roomclose', closed),
    );
    this.#timer = setInterval(() => void this.#tick(), options.pollMs ?? FLOW_POLL_MS);
    this.#timer.unref();
  }

  /** The class's latest state (none while its room is closed in this process). */
  current(classId: string): TeacherMediaPush | undefined {
    return this.#last.get(classId);
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#closed) return; // a slow round is never overtaken by the next
    this.#running = true;
    try {
      const seen = new Set<string>();
      for (const room of [...this.#open]) {
        if (room.closed) continue;
        const push = await this.#forRoom(room, seen).catch((err: unknown) => {
          this.#log.warn({ err, classId: room.classId }, 'teacher media statistics failed');
          return undefined;
        });
        if (!push || this.#closed || room.closed) continue;
        const before = this.#last.get(room.classId);
        this.#last.set(room.classId, push);
        if (!before || !sameSources(before, push)) {
          this.#log.info({ classId: push.classId, published: push.published, flowing: push.flowing }, 'teacher media flow changed');
          this.emit('change', push);
        }
      }
      for (const id of this.#producers.keys()) if (!seen.has(id)) this.#producers.delete(id);
    } finally {
      this.#running = false;
    }
  }

  async #forRoom(room: ClassroomRoom, seen: Set<string>): Promise<TeacherMediaPush> {
    const now = Date.now();
    const published: MediaSourceName[] = [];
    const flowing: MediaSourceName[] = [];
    for (const peer of room.peers()) {
      if (peer.role !== 'teacher') continue;
      for (const producer of [...peer.producers.values()]) {
        if (producer.closed) continue;
        const source = (producer.appData as ProducerAppData).source;
        const packets = (await producer.getStats().catch(() => [])).reduce((sum, s) => sum + s.packetCount, 0);
        seen.add(producer.id);
        const flow = this.#producers.get(producer.id) ?? { packets: 0, risenAt: 0 };
        if (packets > flow.packets) flow.risenAt = now;
        flow.packets = packets;
        this.#producers.set(producer.id, flow);
        published.push(source);
        if (flow.risenAt > 0 && now - flow.risenAt < this.#stallMs) flowing.push(source);
      }
    }
    return { classId: room.classId, published: [...new Set(published)].sort(), flowing: [...new Set(flowing)].sort() };
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const off of this.#offs) off();
    this.#open.clear();
    this.#last.clear();
    this.#producers.clear();
  }
}

function sameSources(a: TeacherMediaPush, b: TeacherMediaPush): boolean {
  return a.published.join() === b.published.join() && a.flowing.join() === b.flowing.join();
}
