// HLS for the whole server: one HlsBridge per live class (started when the class's SFU room opens), the
// class's recording row from the first run to `ready`, recovery of recordings a previous process left
// behind, signed media URLs and the access check behind them. Owns its bridges: close() finalises them all.
import path from 'node:path';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { lessons, liveClasses, recordings, type Recording } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { Permissions } from '../auth/permissions.ts';
import type { Accounts } from '../auth/accounts.ts';
import { AccessCache } from '../auth/access-cache.ts';
import type { RecordingView } from '../contracts/media.ts';
import { HlsBridge, type HlsRoom } from './hls-bridge.ts';
import { MediaTokens, type MediaScope } from './media-tokens.ts';
import { finaliseRecordingFiles, recordingDir, MASTER_FILE, THUMBNAIL_FILE } from './recording-files.ts';
import type { EncoderTuning } from './ladder.ts';

export interface HlsServiceOptions {
  db: Database;
  dataDir: string;
  ffmpegPath: string;
  /** false when ffmpeg is missing: rooms then run without HLS. */
  enabled: boolean;
  mediaSecret: string | undefined;
  permissions: Permissions;
  accounts: Accounts;
  log: Logger;
  listenIp?: string;
  tuning?: EncoderTuning;
  tokenTtlSeconds?: number;
  /** A signer shared with other media (lessons); made from mediaSecret when absent */
  tokens?: MediaTokens;
  /** Told when a recording became a watchable replay (e.g. to mail enrolled students). */
  onRecordingReady?: (recording: Recording) => void;
}

/** Something that announces live rooms (RoomRegistry satisfies it). */
export interface RoomSource {
  on(event: 'roomopen', listener: (room: HlsRoom) => void): unknown;
  off(event: 'roomopen', listener: (room: HlsRoom) => void): unknown;
}

const RECORDING_CLASS_CACHE = 10_000;

export class HlsService {
  readonly tokens: MediaTokens;
  readonly #o: HlsServiceOptions;
  readonly #log: Logger;
  readonly #bridges = new Map<string, { bridge: HlsBridge; recordingId: string }>();
  readonly #finalising = new Map<string, Promise<Recording | undefined>>();
  /** Re-checked every few seconds: see server/auth/access-cache.ts for why the lifetime is short. */
  readonly #access = new AccessCache();
  /** recordingId -> classId, see classOfRecording(). */
  readonly #recordingClasses = new Map<string, string>();
  #rooms: RoomSource | undefined;
  readonly #onRoomOpen = (room: HlsRoom) =>
    void this.attach(room).catch((err: unknown) => this.#log.error({ err, classId: room.classId }, 'hls bridge failed to start'));
  #closed = false;

  constructor(options: HlsServiceOptions) {
    this.#o = options;
    this.#log = options.log;
    this.tokens = options.tokens ?? new MediaTokens(options.mediaSecret, options.tokenTtlSeconds ?? 600);
  }

  /** Starts a bridge for every room that opens from now on. */
  follow(rooms: RoomSource): void {
    this.#rooms = rooms;
    rooms.on('roomopen', this.#onRoomOpen);
  }

  /** The live bridge of a class in this process, if any. */
  live(classId: string): { bridge: HlsBridge; recordingId: string } | undefined {
    return this.#bridges.get(classId);
  }

  /** Bridges a live class's room into HLS and its recording; the recording is finalised when the room closes. */
  async attach(room: HlsRoom): Promise<HlsBridge | undefined> {
    if (!this.#o.enabled || this.#closed || room.closed || this.#bridges.has(room.classId)) return this.#bridges.get(room.classId)?.bridge;
    const [liveClass] = await this.#o.db.select().from(liveClasses).where(eq(liveClasses.id, room.classId)).limit(1);
    if (!liveClass) throw new Error(`No live class ${room.classId}`);
    const [row] = await this.#o.db
      .insert(recordings)
      .values({ classId: liveClass.id, lessonId: liveClass.lessonId, playlistPath: 'pending', status: 'recording' })
      .returning();
    const recordingId = row!.id;
    const dir = recordingDir(this.#o.dataDir, recordingId);
    await this.#o.db
      .update(recordings)
      .set({ playlistPath: path.relative(this.#o.dataDir, path.join(dir, MASTER_FILE)) })
      .where(eq(recordings.id, recordingId));
    const bridge = new HlsBridge({
      room,
      outDir: dir,
      ffmpegPath: this.#o.ffmpegPath,
      publisherId: liveClass.teacherId,
      log: this.#log,
      ...(this.#o.listenIp ? { listenIp: this.#o.listenIp } : {}),
      ...(this.#o.tuning ? { tuning: this.#o.tuning } : {}),
    });
    this.#bridges.set(room.classId, { bridge, recordingId });
    bridge.once('close', () => {
      if (this.#bridges.get(room.classId)?.bridge === bridge) this.#bridges.delete(room.classId);
      void this.finalise(recordingId);
    });
    this.#log.info({ classId: room.classId, recordingId }, 'hls bridge attached');
    await bridge.start();
    return bridge;
  }

  /**
   * Closes the playlists (ENDLIST), measures, grabs a thumbnail and marks the recording ready, or failed when
   * nothing playable is on disk. Idempotent; concurrent calls share one run.
   */
  finalise(recordingId: string): Promise<Recording | undefined> {
    let running = this.#finalising.get(recordingId);
    if (!running) {
      running = this.#finalise(recordingId).finally(() => this.#finalising.delete(recordingId));
      this.#finalising.set(recordingId, running);
    }
    return running;
  }

  async #finalise(recordingId: string): Promise<Recording | undefined> {
    const db = this.#o.db;
    await db.update(recordings).set({ status: 'processing' }).where(eq(recordings.id, recordingId));
    const log = this.#log.child({ recordingId });
    try {
      const done = await finaliseRecordingFiles(recordingDir(this.#o.dataDir, recordingId), this.#o.ffmpegPath);
      const [row] = await db
        .update(recordings)
        .set({
          status: 'ready',
          durationSeconds: Math.round(done.durationSeconds),
          sizeBytes: done.sizeBytes,
          thumbnailPath: done.thumbnail ? path.join('recordings', recordingId, THUMBNAIL_FILE) : null,
          error: null,
          readyAt: new Date(),
        })
        .where(eq(recordings.id, recordingId))
        .returning();
      // The replay becomes the lesson's video length when the lesson had none yet.
      if (row?.lessonId) {
        await db
          .update(lessons)
          .set({ durationSeconds: Math.round(done.durationSeconds) })
          .where(and(eq(lessons.id, row.lessonId), eq(lessons.durationSeconds, 0)));
      }
      log.info({ durationSeconds: done.durationSeconds, sizeBytes: done.sizeBytes, segments: done.segments }, 'recording ready');
      if (row) this.#o.onRecordingReady?.(row);
      return row;
    } catch (err) {
      const message = (err as Error).message;
      log.warn({ err: message }, 'recording failed');
      const [row] = await db
        .update(recordings)
        .set({ status: 'failed', error: message.slice(0, 500) })
        .where(eq(recordings.id, recordingId))
        .returning();
      return row;
    }
  }

  /** Finalises recordings a previous process left in `recording`/`processing` (it stopped mid-class). */
  async recoverInterrupted(): Promise<number> {
    const stale = await this.#o.db
      .select({ id: recordings.id })
      .from(recordings)
      .where(inArray(recordings.status, ['recording', 'processing']));
    const mine = new Set([...this.#bridges.values()].map((b) => b.recordingId));
    const orphans = stale.filter((r) => !mine.has(r.id));
    for (const r of orphans) await this.finalise(r.id);
    if (orphans.length) this.#log.info({ count: orphans.length }, 'interrupted recordings finalised');
    return orphans.length;
  }

  async recording(recordingId: string): Promise<Recording | undefined> {
    const [row] = await this.#o.db.select().from(recordings).where(eq(recordings.id, recordingId)).limit(1);
    if (row) this.#rememberClassOf(row);
    return row;
  }

  /**
   * The class a recording belongs to (which never changes), remembered: a replay's segments each need it
   * for their access check, and asking the database per segment would double that route's queries. A
   * recording deleted with its class is still refused, by the access check on the class.
   */
  async classOfRecording(recordingId: string): Promise<string | undefined> {
    return this.#recordingClasses.get(recordingId) ?? (await this.recording(recordingId))?.classId;
  }

  #rememberClassOf(row: Recording): void {
    // Only a cache: past its bound it starts over.
    if (this.#recordingClasses.size >= RECORDING_CLASS_CACHE) this.#recordingClasses.clear();
    this.#recordingClasses.set(row.id, row.classId);
  }

  /** Recordings of a class, newest first. */
  async recordingsOfClass(classId: string): Promise<Recording[]> {
    const rows = await this.#o.db.select().from(recordings).where(eq(recordings.classId, classId));
    return rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  /** The newest ready recording that is a lesson's replay. */
  async replayOfLesson(lessonId: string): Promise<Recording | undefined> {
    const rows = await this.#o.db
      .select()
      .from(recordings)
      .where(and(eq(recordings.lessonId, lessonId), eq(recordings.status, 'ready')));
    return rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  }

  /**
   * The replays of a course's live classes for its page, newest first: ready ones to watch, and the ones
   * still being recorded or processed (shown as such); failed ones are left out.
   */
  async courseReplays(courseId: string, userId: string): Promise<RecordingView[]> {
    const rows = await this.#o.db
      .select({ recording: recordings, title: liveClasses.title })
      .from(recordings)
      .innerJoin(liveClasses, eq(liveClasses.id, recordings.classId))
      .where(and(eq(liveClasses.courseId, courseId), inArray(recordings.status, ['recording', 'processing', 'ready'])))
      .orderBy(desc(recordings.createdAt));
    return rows.map((r) => this.recordingView(r.recording, userId, r.title));
  }

  /** The lesson's replay (its newest ready recording) as this user may watch it, or null. */
  async lessonReplay(lessonId: string, userId: string): Promise<RecordingView | null> {
    const row = await this.replayOfLesson(lessonId);
    if (!row) return null;
    const [klass] = await this.#o.db.select({ title: liveClasses.title }).from(liveClasses).where(eq(liveClasses.id, row.classId)).limit(1);
    return this.recordingView(row, userId, klass?.title ?? 'Live class');
  }

  /** May this user watch this class live (and its recordings)? Cached briefly: playlists are fetched every second. */
  mayWatchClass(userId: string, classId: string): Promise<boolean> {
    return this.#access.check(userId, classId, async () => {
      const user = await this.#o.accounts.byId(userId);
      return !!user && !!(await this.#o.permissions.classRole(user, classId));
    });
  }

  /** Forgets cached access decisions of one user (their enrollment changed), or of everyone (a removal). */
  forgetAccess(userId?: string): void {
    this.#access.forget(userId);
  }

  sign(scope: MediaScope, userId: string): { token: string; expiresAt: Date } {
    return this.tokens.sign(scope, userId);
  }

  /** The view of a recording the API returns, with signed URLs for this user. */
  recordingView(row: Recording, userId: string, classTitle: string): RecordingView {
    const { token, expiresAt } = this.sign({ kind: 'recording', id: row.id }, userId);
    const base = `/media/recordings/${row.id}`;
    return {
      id: row.id,
      classId: row.classId,
      lessonId: row.lessonId,
      title: classTitle,
      status: row.status,
      durationSeconds: row.durationSeconds,
      sizeBytes: row.sizeBytes,
      createdAt: row.createdAt.toISOString(),
      readyAt: row.readyAt?.toISOString() ?? null,
      playlistUrl: row.status === 'ready' || row.status === 'recording' ? `${base}/${MASTER_FILE}?token=${token}` : null,
      thumbnailUrl: row.thumbnailPath ? `${base}/${THUMBNAIL_FILE}?token=${token}` : null,
      tokenExpiresAt: expiresAt.toISOString(),
      error: row.error,
    };
  }

  recordingsDir(): string {
    return path.join(this.#o.dataDir, 'recordings');
  }

  /** Closes every bridge (ffmpeg finishes its segments) and finalises their recordings. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#rooms?.off('roomopen', this.#onRoomOpen);
    const open = [...this.#bridges.values()];
    await Promise.all(open.map((b) => b.bridge.close()));
    await Promise.all(open.map((b) => this.finalise(b.recordingId)));
    await Promise.all([...this.#finalising.values()]);
  }
}
