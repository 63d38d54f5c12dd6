// Live HLS for the classes of this process: one HlsBridge per live class's room (the live class attaches it when
// it opens its room, see classes/live-class-lifecycle.ts). A bridge starts its ffmpeg
// once the teacher's media flows, and only then does the class get a recording (its row and the directory the
// bridge writes: live viewers and the recording share those files). When the room closes, the bridge stops
// and the recording is finalised. A class has one recording: a later bridge of the class (a new room after a
// lost worker, a new process after a restart) continues it. Owns its bridges: close() stops them all and
// finalises their recordings.
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { liveClasses } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { HlsBridge, type HlsRoom } from './hls-bridge.ts';
import type { EncoderTuning } from './ladder.ts';
import type { Recordings } from './recordings.ts';
import type { RenditionSet } from './rendition-set.ts';

export interface LiveHlsOptions {
  db: Database;
  recordings: Recordings;
  ffmpegPath: string;
  /** false when ffmpeg is missing: rooms then run without HLS. */
  enabled: boolean;
  log: Logger;
  listenIp?: string;
  tuning?: EncoderTuning;
}

/** A class's live stream as the API reports it. */
export type LiveStatus = 'offline' | 'starting' | 'live';

interface LiveEntry {
  bridge: HlsBridge;
  room: HlsRoom;
  /** Set once the class's media first flowed. */
  recordingId(): string | undefined;
}

export class LiveHls {
  readonly #o: LiveHlsOptions;
  readonly #log: Logger;
  readonly #live = new Map<string, LiveEntry>();
  #closed = false;

  constructor(options: LiveHlsOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /**
   * Bridges a live class's room into HLS (and, once media flows, its recording); the bridge closes with the
   * room, and closing it earlier ends the stream. The stream carries `publisherId`'s media (the class's
   * teacher unless told) and the voices of students on stage. Undefined when HLS is off or the room closed.
   */
  async attach(room: HlsRoom, publisherId?: string): Promise<HlsBridge | undefined> {
    // A bridge still draining on the class's previous room (lost with its worker) does not count: the new room
    // gets its own.
    const existing = this.#live.get(room.classId);
    if ((existing && !existing.room.closed) || !this.#o.enabled || this.#closed || room.closed) return existing?.bridge;
    publisherId ??= (
      await this.#o.db.select({ teacherId: liveClasses.teacherId }).from(liveClasses).where(eq(liveClasses.id, room.classId))
    )[0]?.teacherId;
    if (!publisherId) throw new Error(`No live class ${room.classId}`);
    const current = this.#live.get(room.classId);
    if ((current && !current.room.closed) || this.#closed || room.closed) return current?.bridge;
    // The class's bridge on its lost room still draining into the class's recording: this one continues that
    // recording once it has finished.
    const previous = current;
    let recordingId: string | undefined;
    const bridge = new HlsBridge({
      room,
      ffmpegPath: this.#o.ffmpegPath,
      log: this.#log,
      openOutput: async () => {
        if (previous) {
          await previous.bridge.close();
          const earlier = previous.recordingId();
          if (earlier) await this.#o.recordings.finalise(earlier);
        }
        const begun = await this.#o.recordings.begin(room.classId);
        recordingId = begun.recordingId;
        return begun.output;
      },
      publisherId,
      ...(this.#o.listenIp ? { listenIp: this.#o.listenIp } : {}),
      ...(this.#o.tuning ? { tuning: this.#o.tuning } : {}),
    });
    const entry: LiveEntry = { bridge, room, recordingId: () => recordingId };
    this.#live.set(room.classId, entry);
    bridge.once('close', () => {
      if (this.#live.get(room.classId) === entry) this.#live.delete(room.classId);
      if (recordingId) void this.#o.recordings.finalise(recordingId);
    });
    this.#log.info({ classId: room.classId }, 'hls bridge attached');
    await bridge.start();
    return bridge;
  }

  /** The live bridge of a class in this process, if any. */
  bridge(classId: string): HlsBridge | undefined {
    return this.#live.get(classId)?.bridge;
  }

  /** The recording a class's bridge writes, once its media flowed. */
  recordingOf(classId: string): string | undefined {
    return this.#live.get(classId)?.recordingId();
  }

  /** The class's live rendition set while it streams (the ladder is known); null otherwise. */
  renditions(classId: string): RenditionSet | null {
    return this.#live.get(classId)?.bridge.renditions ?? null;
  }

  status(classId: string): LiveStatus {
    const entry = this.#live.get(classId);
    return !entry ? 'offline' : entry.bridge.renditions ? 'live' : 'starting';
  }

  /** Recordings being written by this process's bridges (not interrupted ones). */
  recordingIds(): string[] {
    return [...this.#live.values()].flatMap((e) => e.recordingId() ?? []);
  }

  /** Closes every bridge (ffmpeg finishes its segments) and finalises their recordings. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const open = [...this.#live.values()];
    await Promise.all(open.map((e) => e.bridge.close()));
    await Promise.all(open.flatMap((e) => e.recordingId() ?? []).map((id) => this.#o.recordings.finalise(id)));
  }
}
