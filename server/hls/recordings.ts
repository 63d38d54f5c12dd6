// Recordings of live classes: the `recordings` row from the moment a class's media first reaches the bridge
// to `ready` (or `failed`), finalising the files a bridge wrote (also those a stopped process left behind),
// the queries the pages make, and each recording's rendition set for the /media routes. A recording's files
// are kept in media storage under `recordings/<id>`: written on this machine, uploaded to the object store
// (when there is one) once ready.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { and, asc, desc, eq, inArray, like, notInArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { lessons, liveClasses, mailOutbox, noticeFanouts, recordings, type Recording } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';
import { forgetChaptersWithoutReplay } from '../interaction/chapter-book.ts';
import type { Logger } from '../log.ts';
import type { RecordingView } from '../contracts/media.ts';
import type { MediaStorage } from '../storage/media-storage.ts';
import { CaptionTrack } from './caption-tracks.ts';
import type { MediaAccess } from './media-access.ts';
import { RecordingRenditions } from './recording-renditions.ts';
import { mediaUrl } from './rendition-set.ts';
import { DOWNLOAD_FILE, MASTER_FILE, RunOutput, THUMBNAIL_FILE } from './run-output.ts';
import { SEGMENT_SECONDS } from './ladder.ts';

export interface RecordingsOptions {
  db: Database;
  dataDir: string;
  /** Where finished recordings are kept (their files are written under dataDir first). */
  storage: MediaStorage;
  ffmpegPath: string;
  access: MediaAccess;
  log: Logger;
  /** Told when a recording became a watchable replay (e.g. to mail enrolled students). */
  onReady?: (recording: Recording) => void;
  /**
   * What is made of a ready recording's files (its MP4 download): `make` makes it and then uploads the
   * recording to the object store (without it, the recording goes up as soon as it is ready); `stop` stops it
   * before the files change or go.
   */
  derived?: { make(recordingId: string): void; stop(recordingId: string): Promise<void> };
}

/** recordingId -> where it is: never changes, so remembered (a replay's every segment needs it). */
const LOCATION_CACHE = 10_000;

/** Where a recording is, on this machine and in media storage. */
export interface RecordingLocation {
  classId: string;
  /** Its directory on this machine, where the bridge writes it. */
  dir: string;
  /** Its key prefix in media storage (`recordings/<id>`). */
  prefix: string;
}

export class Recordings {
  readonly #o: RecordingsOptions;
  readonly #finalising = new Map<string, Promise<Recording | undefined>>();
  readonly #located = new Map<string, RecordingLocation>();

  constructor(options: RecordingsOptions) {
    this.#o = options;
  }

  /**
   * The output a bridge of the class writes into: the class's one recording, continued when it has one (an
   * earlier bridge of the class, before a restart, a lost worker or a reconnect, wrote its first runs), else a
   * new row (status `recording`) and an empty output. A finished recording goes back to `recording` (its
   * download is made again afterwards).
   */
  async begin(classId: string): Promise<{ recordingId: string; output: RunOutput }> {
    const earlier = await this.#o.db
      .select({ id: recordings.id })
      .from(recordings)
      .where(eq(recordings.classId, classId))
      .orderBy(asc(recordings.createdAt))
      .limit(1);
    // Its finalisation in this process (the bridge before) writes the files: it goes first.
    if (earlier[0]) await this.#finalising.get(earlier[0].id);
    const begun = await this.#o.db.transaction(async (tx) => {
      // The class's row locked: two bridges of one class (two processes) never make two recordings.
      const [liveClass] = await tx.select().from(liveClasses).where(eq(liveClasses.id, classId)).for('update');
      if (!liveClass) throw new Error(`No live class ${classId}`);
      const [existing] = await tx
        .select()
        .from(recordings)
        .where(eq(recordings.classId, classId))
        .orderBy(asc(recordings.createdAt))
        .limit(1);
      if (existing) {
        await tx
          .update(recordings)
          .set({ status: 'recording', error: null, downloadStatus: 'none', downloadPercent: 0, downloadSizeBytes: 0, downloadError: null })
          .where(eq(recordings.id, existing.id));
        return { recordingId: existing.id, playlistPath: existing.playlistPath, continued: true };
      }
      const recordingId = randomUUID();
      const playlistPath = path.join('recordings', recordingId, MASTER_FILE);
      await tx.insert(recordings).values({ id: recordingId, classId, lessonId: liveClass.lessonId, playlistPath, status: 'recording' });
      return { recordingId, playlistPath, continued: false };
    });
    const dir = this.#dirOf(begun.playlistPath);
    const { recordingId } = begun;
    if (begun.continued) {
      // Its download was of the replay so far; its files come back to this machine to be written on.
      await this.#dropDownload(recordingId, begun.playlistPath);
      await this.#o.storage.restore(prefixOf(begun.playlistPath));
    }
    // A recording whose class never produced media has no output yet: it starts one.
    const output =
      (begun.continued ? await RunOutput.open(dir) : null) ?? (await RunOutput.create(dir, { classId, segmentSeconds: SEGMENT_SECONDS }));
    this.#o.log.info(
      { classId, recordingId, continued: begun.continued, runs: output.runIds.length },
      begun.continued ? 'recording continued' : 'recording started',
    );
    return { recordingId, output };
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

  /** Finalises recordings a previous process left in `recording`/`processing` (it stopped mid-class). */
  async recoverInterrupted(stillRecording: readonly string[] = []): Promise<number> {
    const unfinished = inArray(recordings.status, ['recording', 'processing']);
    const stale = await this.#o.db
      .select({ id: recordings.id })
      .from(recordings)
      .where(stillRecording.length ? and(unfinished, notInArray(recordings.id, [...stillRecording])) : unfinished);
    for (const r of stale) await this.finalise(r.id);
    if (stale.length) this.#o.log.info({ count: stale.length }, 'interrupted recordings finalised');
    return stale.length;
  }

  /**
   * Joins the recordings classes got before a class had one (a restart or a lost worker started another): the
   * later ones' runs move into the class's first recording with media, which is finalised again, and the later
   * rows and directories go. A recording with another ladder stays a replay of its own. Run at start-up, after
   * recoverInterrupted() and before any class records. Returns how many recordings were joined into another.
   */
  async joinDuplicates(): Promise<number> {
    const classes = await this.#o.db
      .select({ classId: recordings.classId })
      .from(recordings)
      .groupBy(recordings.classId)
      .having(sql`count(*) > 1`);
    let joined = 0;
    for (const { classId } of classes) joined += await this.#joinClass(classId);
    if (joined) this.#o.log.info({ classes: classes.length, joined }, 'recordings of one class joined');
    return joined;
  }

  async #joinClass(classId: string): Promise<number> {
    const rows = await this.ofClass(classId);
    rows.reverse(); // oldest first
    if (rows.some((r) => r.status === 'recording' || r.status === 'processing')) return 0;
    // Their files on this machine (uploaded ones come back) to be joined and finalised here.
    for (const r of rows) await this.#o.storage.restore(prefixOf(r.playlistPath));
    const outputs = await Promise.all(rows.map((r) => RunOutput.open(this.#dirOf(r.playlistPath))));
    const at = outputs.findIndex((o) => o?.ladder);
    if (at < 0) return 0;
    const target = outputs[at]!;
    const ladderOf = (o: RunOutput) => o.ladder!.map((r) => r.name).join();
    const gone: Recording[] = [];
    for (const [i, row] of rows.entries()) {
      const source = outputs[i];
      if (i === at) continue;
      if (source?.ladder && ladderOf(source) !== ladderOf(target)) {
        this.#o.log.warn({ classId, recordingId: row.id }, 'recording has another ladder: left as a replay of its own');
        continue;
      }
      // Earlier than the first with media: it never had any (nothing to move).
      if (source?.ladder) await target.adoptRuns(source, row.id);
      gone.push(row);
    }
    if (!gone.length) return 0;
    await this.#forget(gone);
    const kept = rows[at]!;
    await this.#dropDownload(kept.id, kept.playlistPath);
    await this.#o.db
      .update(recordings)
      .set({ downloadStatus: 'none', downloadPercent: 0, downloadSizeBytes: 0, downloadError: null })
      .where(eq(recordings.id, kept.id));
    await this.finalise(kept.id);
    return gone.length;
  }

  /** Waits for every finalisation in flight. */
  async settled(): Promise<void> {
    await Promise.all([...this.#finalising.values()]);
  }

  async byId(recordingId: string): Promise<Recording | undefined> {
    const [row] = await this.#o.db.select().from(recordings).where(eq(recordings.id, recordingId)).limit(1);
    if (row) this.#remember(row);
    return row;
  }

  /**
   * The recording's class (whose members may watch it) and its rendition set; undefined for no such
   * recording. A recording deleted with its class is still refused, by the access check on the class.
   */
  async renditions(recordingId: string): Promise<{ classId: string; renditions: RecordingRenditions } | undefined> {
    const where = await this.location(recordingId);
    if (!where) return undefined;
    const status = async () => (await this.byId(recordingId))?.status;
    return { classId: where.classId, renditions: new RecordingRenditions(this.#o.storage, where.prefix, where.dir, status) };
  }

  /** The recording's class and where its files are (files made from it, e.g. captions, go there too); undefined for none. */
  async location(recordingId: string): Promise<RecordingLocation | undefined> {
    return this.#located.get(recordingId) ?? (await this.byId(recordingId), this.#located.get(recordingId));
  }

  /** The recording's caption track; undefined for no such recording. */
  async captions(recordingId: string): Promise<CaptionTrack | undefined> {
    const where = await this.location(recordingId);
    return where && new CaptionTrack(this.#o.storage, where.prefix);
  }

  /** Uploads the ready recordings still on this machine only (an upload a stop or an unreachable store interrupted). */
  async uploadPending(): Promise<void> {
    if (!this.#o.storage.remote) return;
    const ready = await this.#o.db.select().from(recordings).where(eq(recordings.status, 'ready'));
    for (const row of ready) {
      const here = await fs.stat(this.#dirOf(row.playlistPath)).then(
        () => true,
        () => false,
      );
      if (here) this.#o.storage.upload(prefixOf(row.playlistPath));
    }
  }

  /** Recordings of a class, newest first. */
  async ofClass(classId: string): Promise<Recording[]> {
    return this.#o.db.select().from(recordings).where(eq(recordings.classId, classId)).orderBy(desc(recordings.createdAt));
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
    return rows.map((r) => this.view(r.recording, userId, r.title));
  }

  /** The lesson's replay (its newest ready recording) as this user may watch it, or null. */
  async lessonReplay(lessonId: string, userId: string): Promise<RecordingView | null> {
    const [row] = await this.#o.db
      .select({ recording: recordings, title: liveClasses.title })
      .from(recordings)
      .innerJoin(liveClasses, eq(liveClasses.id, recordings.classId))
      .where(and(eq(recordings.lessonId, lessonId), eq(recordings.status, 'ready')))
      .orderBy(desc(recordings.createdAt))
      .limit(1);
    return row ? this.view(row.recording, userId, row.title) : null;
  }

  /** The view of a recording the API returns, with signed URLs for this user. */
  view(row: Recording, userId: string, classTitle: string): RecordingView {
    const { token, expiresAt } = this.#o.access.sign({ kind: 'recording', id: row.id }, userId);
    const base = `recordings/${row.id}`;
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
      playlistUrl: row.status === 'ready' || row.status === 'recording' ? mediaUrl(token, `${base}/${MASTER_FILE}`) : null,
      thumbnailUrl: row.thumbnailPath ? mediaUrl(token, `${base}/${THUMBNAIL_FILE}`) : null,
      tokenExpiresAt: expiresAt.toISOString(),
      error: row.error,
      download: {
        status: row.downloadStatus,
        percent: row.downloadPercent,
        sizeBytes: row.downloadSizeBytes,
        url: row.status === 'ready' && row.downloadStatus === 'ready' ? mediaUrl(token, `${base}/${DOWNLOAD_FILE}`) : null,
        error: row.downloadError,
      },
    };
  }

  async #finalise(recordingId: string): Promise<Recording | undefined> {
    const db = this.#o.db;
    const [started] = await db.update(recordings).set({ status: 'processing' }).where(eq(recordings.id, recordingId)).returning();
    if (!started) return undefined;
    const log = this.#o.log.child({ recordingId });
    try {
      const output = await RunOutput.open(this.#dirOf(started.playlistPath));
      if (!output) throw new Error('No manifest: the class never produced media');
      const done = await output.finalise(this.#o.ffmpegPath);
      const [row] = await db
        .update(recordings)
        .set({
          status: 'ready',
          durationSeconds: Math.round(done.durationSeconds),
          sizeBytes: done.sizeBytes,
          thumbnailPath: done.thumbnail ? path.join(path.dirname(started.playlistPath), THUMBNAIL_FILE) : null,
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
      // To the object store (when there is one), in the background, once what is made of it is made: it plays
      // from this machine meanwhile.
      if (row && this.#o.derived) this.#o.derived.make(row.id);
      else if (row) this.#o.storage.upload(prefixOf(row.playlistPath));
      if (row) this.#o.onReady?.(row);
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

  /**
   * Deletes a replay: its row, what was kept about it (the notice fan-out and its mails, the class's chapters
   * once no replay of it is left) and its directory (playlists, segments, thumbnail and every file made from
   * it later). A recording still being written or finalised is refused (its bridge or finalisation owns the
   * files until then).
   */
  async remove(recordingId: string): Promise<Recording> {
    const row = await this.byId(recordingId);
    if (!row) throw new DomainError('not_found', 'No such recording');
    if (row.status === 'recording' || row.status === 'processing' || this.#finalising.has(recordingId))
      throw new DomainError('invalid_state', 'The recording is still being made; delete it once it is ready');
    await this.#forget([row]);
    this.#o.log.info({ recordingId, classId: row.classId }, 'recording deleted');
    return row;
  }

  /**
   * Deletes the files of every recording of a course's classes, for a course about to be deleted (its rows go
   * with the classes by cascade). Recordings still being written are stopped by their class first.
   */
  async forgetCourse(courseId: string): Promise<void> {
    const rows = await this.#o.db
      .select({ recording: recordings })
      .from(recordings)
      .innerJoin(liveClasses, eq(liveClasses.id, recordings.classId))
      .where(eq(liveClasses.courseId, courseId));
    await this.#forget(rows.map((r) => r.recording));
  }

  /** Bytes each recording takes in storage now (every file under its prefix, here and in the object store), by recording id. */
  async diskUsage(rows: readonly Recording[]): Promise<Map<string, number>> {
    const sizes = await Promise.all(rows.map(async (r) => [r.id, await this.#o.storage.sizeOfPrefix(prefixOf(r.playlistPath))] as const));
    return new Map(sizes);
  }

  async #forget(rows: readonly Recording[]): Promise<void> {
    if (!rows.length) return;
    const ids = rows.map((r) => r.id);
    // Rows first: from now on a viewer gets a 404 rather than a half-deleted playlist.
    await this.#o.db.transaction(async (tx) => {
      await tx.delete(recordings).where(inArray(recordings.id, ids));
      await forgetChaptersWithoutReplay(
        tx,
        rows.map((r) => r.classId),
      );
      await tx.delete(noticeFanouts).where(
        inArray(
          noticeFanouts.subject,
          ids.map((id) => `replay_ready:${id}`),
        ),
      );
      // Its notices, sent or not: a queued one would announce a replay that is gone, and the sent ones only
      // kept it from being announced twice.
      for (const id of ids) await tx.delete(mailOutbox).where(like(mailOutbox.dedupeKey, `replay_ready:${id}:%`));
    });
    for (const r of rows) {
      this.#located.delete(r.id);
      await this.#o.derived?.stop(r.id);
      await this.#o.storage.deletePrefix(prefixOf(r.playlistPath));
    }
  }

  /** Stops the download being made of a recording and removes the one made (the replay changes). */
  async #dropDownload(recordingId: string, playlistPath: string): Promise<void> {
    await this.#o.derived?.stop(recordingId);
    await this.#o.storage.remove(`${prefixOf(playlistPath)}/${DOWNLOAD_FILE}`);
  }

  /** The recording's directory: where its row says its master playlist is. */
  #dirOf(playlistPath: string): string {
    return path.dirname(path.join(this.#o.dataDir, playlistPath));
  }

  #remember(row: Recording): void {
    // Only a cache: past its bound it starts over.
    if (this.#located.size >= LOCATION_CACHE) this.#located.clear();
    this.#located.set(row.id, { classId: row.classId, dir: this.#dirOf(row.playlistPath), prefix: prefixOf(row.playlistPath) });
  }
}

/** The recording's key prefix in media storage: the directory its row's master playlist path names. */
function prefixOf(playlistPath: string): string {
  return path.posix.dirname(playlistPath.split(path.sep).join('/'));
}
