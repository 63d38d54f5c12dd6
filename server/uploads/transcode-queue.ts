// Background transcodes of uploaded lesson videos into the HLS ladder. The transcode_jobs row is the whole
// state: on start, a job left 'running' by a stopped server is queued again and restarted from scratch (HLS
// output of a half-run is not trustworthy), up to MAX_ATTEMPTS. Output is written to a scratch directory and
// renamed into place (videoDir) only when complete, so a failure never leaves a half-made lesson video behind;
// the job's outcome is the lesson's video state. Uploads, views and removal are LessonVideos' business.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { lessons, transcodeJobs, type TranscodeJob as TranscodeJobRow } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { probeMedia } from './media-probe.ts';
import { TranscodeJob } from './transcode-job.ts';
import { UploadRefused } from './upload-reservations.ts';
import { buildVodTranscodeArgs, ladderFor } from '../hls/ladder.ts';
import { renderMasterPlaylist } from '../hls/playlist.ts';
import { MASTER_FILE } from '../hls/run-output.ts';

export const MAX_ATTEMPTS = 3;

export interface TranscodeQueueOptions {
  db: Database;
  dataDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  log: Logger;
  concurrency?: number;
}

export type TranscodeQueueEvents = {
  /** A running job's progress in percent (for watching a transcode under way). */
  progress: [jobId: string, lessonId: string, percent: number];
  /** A job ran to its end: its outcome and how long it ran (metrics). */
  finished: [outcome: 'ready' | 'failed', seconds: number];
  /** A lesson's new video is in place (videoDir) and marked ready. */
  ready: [lessonId: string];
};

export class TranscodeQueue extends EventEmitter<TranscodeQueueEvents> {
  readonly #o: Required<TranscodeQueueOptions>;
  readonly #running = new Map<string, { job: TranscodeJob; lessonId: string }>();
  /** Every #run in flight by job id (including its probing, before ffmpeg exists), so close() and cancel() can wait for them. */
  readonly #runs = new Map<string, Promise<void>>();
  /** Jobs whose lesson (or video) is being deleted: they stop where they are and leave nothing behind. */
  readonly #cancelled = new Set<string>();
  #closed = false;
  #pumping: Promise<void> | null = null;
  #pumpAgain = false;

  constructor(options: TranscodeQueueOptions) {
    super();
    this.#o = { concurrency: 1, ...options };
  }

  /** Everything of a lesson's video lives under here (the HLS set in videoDir, scratch runs beside it). */
  lessonDir(lessonId: string): string {
    return path.join(this.#o.dataDir, 'lessons', lessonId);
  }

  /** The lesson's finished HLS set: master.m3u8 and one directory per rung. */
  videoDir(lessonId: string): string {
    return path.join(this.lessonDir(lessonId), 'hls');
  }

  /** Requeues jobs a previous process left running and starts work. */
  async start(): Promise<void> {
    const requeued = await this.#o.db
      .update(transcodeJobs)
      .set({ status: 'queued', progressPercent: 0 })
      .where(eq(transcodeJobs.status, 'running'))
      .returning({ id: transcodeJobs.id });
    if (requeued.length) this.#o.log.info({ jobs: requeued.map((j) => j.id) }, 'requeued transcodes interrupted by a restart');
    this.pump();
  }

  /**
   * Queues the transcode of a source file (relative to the data directory; the job owns it from now on and
   * removes it when done). The lesson row is locked while checking that no job of it is queued or running, so
   * two processes enqueueing for one lesson at once cannot both succeed: the second gets
   * UploadRefused('lesson_busy') and the source stays the caller's.
   */
  async enqueue(
    lessonId: string,
    sourceRel: string,
    meta: { originalName: string; sizeBytes: number; durationSeconds: number },
  ): Promise<TranscodeJobRow> {
    const job = await this.#o.db.transaction(async (tx) => {
      await tx.select({ id: lessons.id }).from(lessons).where(eq(lessons.id, lessonId)).for('update');
      const active = await tx
        .select({ id: transcodeJobs.id })
        .from(transcodeJobs)
        .where(and(eq(transcodeJobs.lessonId, lessonId), inArray(transcodeJobs.status, ['queued', 'running'])))
        .limit(1);
      if (active.length) throw new UploadRefused('lesson_busy', 'A video for this lesson is still being processed');
      const [row] = await tx
        .insert(transcodeJobs)
        .values({
          lessonId,
          sourcePath: sourceRel,
          originalName: meta.originalName,
          sizeBytes: meta.sizeBytes,
          durationSeconds: Math.ceil(meta.durationSeconds),
        })
        .returning();
      await tx.update(lessons).set({ videoStatus: 'processing', videoError: null }).where(eq(lessons.id, lessonId));
      return row!;
    });
    this.pump();
    return job;
  }

  /** True while a job of this lesson is queued or running (one at a time per lesson). */
  async busy(lessonId: string): Promise<boolean> {
    const rows = await this.#o.db
      .select({ id: transcodeJobs.id })
      .from(transcodeJobs)
      .where(and(eq(transcodeJobs.lessonId, lessonId), inArray(transcodeJobs.status, ['queued', 'running'])))
      .limit(1);
    return rows.length > 0;
  }

  async latestJob(lessonId: string): Promise<TranscodeJobRow | null> {
    const rows = await this.#o.db
      .select()
      .from(transcodeJobs)
      .where(eq(transcodeJobs.lessonId, lessonId))
      .orderBy(desc(transcodeJobs.createdAt))
      .limit(1);
    return rows[0] ?? null;
  }

  /**
   * Stops the transcodes of these lessons (their video or the lessons themselves are going away) and removes
   * their sources. Resolves once this process's ffmpegs for them have exited and their scratch output is gone,
   * so the caller can remove the lessons' directories without a run writing into them afterwards. Queued jobs
   * are marked failed so that no process claims them; a run in another process stops when it finds its row
   * gone (see #run).
   */
  async cancel(lessonIds: string[]): Promise<void> {
    if (!lessonIds.length) return;
    const jobs = await this.#o.db
      .update(transcodeJobs)
      .set({ status: 'failed', error: 'Cancelled: the video was deleted', finishedAt: new Date() })
      .where(and(inArray(transcodeJobs.lessonId, lessonIds), inArray(transcodeJobs.status, ['queued', 'running'])))
      .returning();
    const stopping: Promise<void>[] = [];
    for (const job of jobs) {
      this.#cancelled.add(job.id);
      this.#running.get(job.id)?.job.close();
      const run = this.#runs.get(job.id);
      if (run) stopping.push(run);
    }
    await Promise.allSettled(stopping);
    for (const job of jobs) {
      this.#cancelled.delete(job.id);
      fs.rmSync(path.join(this.#o.dataDir, job.sourcePath), { force: true });
    }
    if (jobs.length) this.#o.log.info({ jobs: jobs.map((j) => j.id), lessonIds }, 'transcodes cancelled');
  }

  /** Starts queued jobs while there is room; safe to call any time. */
  pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      // Looking already: it may have passed the job that made this call, so it looks once more when done.
      this.#pumpAgain = true;
      return;
    }
    this.#pumpAgain = false;
    // Reset in a callback, which always runs after this assignment: a pass that found no room finishes at once,
    // and resetting it from inside would leave #pumping set for good (no job would ever start again).
    const pumping = this.#pumpOnce().finally(() => {
      if (this.#pumping === pumping) this.#pumping = null;
      if (this.#pumpAgain) this.pump();
    });
    this.#pumping = pumping;
  }

  /** Claims and starts jobs while fewer than `concurrency` run (counted from their claim, probing included). */
  async #pumpOnce(): Promise<void> {
    try {
      while (!this.#closed && this.#runs.size < this.#o.concurrency) {
        const job = await this.#claimNext();
        if (!job) break;
        const run = this.#run(job).finally(() => {
          this.#runs.delete(job.id);
          this.pump(); // its slot is free now
        });
        this.#runs.set(job.id, run);
      }
    } catch (err) {
      this.#o.log.error({ err }, 'transcode queue could not claim a job');
    }
  }

  async #claimNext(): Promise<TranscodeJobRow | null> {
    for (;;) {
      const [next] = await this.#o.db
        .select()
        .from(transcodeJobs)
        .where(eq(transcodeJobs.status, 'queued'))
        .orderBy(asc(transcodeJobs.createdAt))
        .limit(1);
      if (!next) return null;
      // Conditional update: if another process claimed it first, look again.
      const [claimed] = await this.#o.db
        .update(transcodeJobs)
        .set({ status: 'running', attempts: next.attempts + 1, startedAt: new Date(), progressPercent: 0, error: null })
        .where(and(eq(transcodeJobs.id, next.id), eq(transcodeJobs.status, 'queued')))
        .returning();
      if (claimed) return claimed;
    }
  }

  async #run(row: TranscodeJobRow): Promise<void> {
    const log = this.#o.log.child({ jobId: row.id, lessonId: row.lessonId, attempt: row.attempts });
    const source = path.join(this.#o.dataDir, row.sourcePath);
    const finalDir = this.videoDir(row.lessonId);
    const scratch = path.join(this.lessonDir(row.lessonId), `.hls-${row.id}`);
    if (row.attempts > MAX_ATTEMPTS) {
      await this.#fail(row, `Gave up after ${MAX_ATTEMPTS} attempts (the server stopped during each one)`, scratch, log);
      return this.pump();
    }
    if (!fs.existsSync(source)) {
      await this.#fail(row, 'The uploaded file is gone; upload it again', scratch, log);
      return this.pump();
    }
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });

    let args: string[];
    let ladder: ReturnType<typeof ladderFor>;
    try {
      const probed = await probeMedia(this.#o.ffprobePath, source);
      // The same ladder as live classes (server/hls/ladder.ts), sized to the source.
      ladder = ladderFor(
        probed.height ? { width: probed.width || Math.round((probed.height * 16) / 9), height: probed.height } : undefined,
      );
      args = buildVodTranscodeArgs({
        input: source,
        outDir: scratch,
        ladder,
        hasAudio: probed.hasAudio,
        durationSeconds: probed.durationSeconds,
      });
    } catch (err) {
      await this.#fail(row, (err as Error).message, scratch, log);
      return this.pump();
    }
    if (this.#closed || this.#cancelled.has(row.id)) {
      // Shutting down between claim and spawn: the row stays 'running' and the next start() requeues it.
      // Cancelled meanwhile: the lesson's video is going away.
      fs.rmSync(scratch, { recursive: true, force: true });
      return;
    }
    const job = new TranscodeJob({ id: row.id, ffmpegPath: this.#o.ffmpegPath, args, durationSeconds: row.durationSeconds || 1 });
    this.#running.set(row.id, { job, lessonId: row.lessonId });
    const startedAt = Date.now();
    log.info('transcode started');
    let lastWrite = 0;
    let lastPercent = 0;
    job.on('progress', (percent) => {
      if (percent <= lastPercent) return;
      lastPercent = percent;
      this.emit('progress', row.id, row.lessonId, percent);
      // Throttled: at most one write a second, so a fast transcode does not hammer the database.
      const now = Date.now();
      if (now - lastWrite < 1000 && percent < 100) return;
      lastWrite = now;
      this.#o.db
        .update(transcodeJobs)
        .set({ progressPercent: percent })
        .where(and(eq(transcodeJobs.id, row.id), eq(transcodeJobs.status, 'running')))
        .returning({ id: transcodeJobs.id })
        .then((updated) => {
          // The row is gone or no longer running: the video was deleted, maybe through another process.
          if (!updated.length && !job.closed) {
            this.#cancelled.add(row.id);
            job.close();
          }
        })
        .catch((err: unknown) => log.warn({ err }, 'progress write failed'));
    });
    try {
      await job.done;
      // Deleted while ffmpeg ran (here, or through another process that could not stop our ffmpeg).
      const [current] = await this.#o.db.select({ status: transcodeJobs.status }).from(transcodeJobs).where(eq(transcodeJobs.id, row.id));
      if (current?.status !== 'running') this.#cancelled.add(row.id);
      if (this.#cancelled.has(row.id)) throw new Error('cancelled');
      const master = path.join(scratch, MASTER_FILE);
      if (!fs.existsSync(master)) throw new Error('ffmpeg finished without a master playlist');
      // Our master, as recordings have it: the ladder's exact bandwidths, frame rate and codecs.
      fs.writeFileSync(master, renderMasterPlaylist(ladder));
      fs.rmSync(finalDir, { recursive: true, force: true });
      fs.renameSync(scratch, finalDir);
      const videoPath = path.relative(this.#o.dataDir, path.join(finalDir, MASTER_FILE));
      await this.#o.db.transaction(async (tx) => {
        await tx
          .update(transcodeJobs)
          .set({ status: 'ready', progressPercent: 100, finishedAt: new Date() })
          .where(eq(transcodeJobs.id, row.id));
        await tx
          .update(lessons)
          .set({ videoStatus: 'ready', videoPath, videoError: null, durationSeconds: row.durationSeconds })
          .where(eq(lessons.id, row.lessonId));
      });
      fs.rmSync(source, { force: true });
      log.info({ videoPath }, 'transcode ready');
      this.emit('finished', 'ready', (Date.now() - startedAt) / 1000);
      this.emit('ready', row.lessonId);
    } catch (err) {
      if (this.#cancelled.has(row.id)) {
        fs.rmSync(scratch, { recursive: true, force: true });
        removeIfEmpty(this.lessonDir(row.lessonId));
        log.info('transcode cancelled');
      } else if (job.closed && this.#closed) {
        // The server is stopping: leave the row 'running' so the next start requeues it.
        fs.rmSync(scratch, { recursive: true, force: true });
        log.info('transcode interrupted by shutdown; will restart on next start');
      } else {
        await this.#fail(row, (err as Error).message, scratch, log).catch((e: unknown) =>
          log.error({ err: e }, 'could not record failure'),
        );
      }
    } finally {
      this.#running.delete(row.id);
      this.#cancelled.delete(row.id);
      this.pump();
    }
  }

  async #fail(row: TranscodeJobRow, reason: string, scratch: string, log: Logger): Promise<void> {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(path.join(this.#o.dataDir, row.sourcePath), { force: true });
    log.warn({ reason }, 'transcode failed');
    this.emit('finished', 'failed', row.startedAt ? (Date.now() - row.startedAt.getTime()) / 1000 : 0);
    await this.#o.db
      .update(transcodeJobs)
      .set({ status: 'failed', error: reason, finishedAt: new Date() })
      .where(eq(transcodeJobs.id, row.id));
    // A lesson with an earlier ready video keeps playing it; otherwise it shows the failure.
    const [lesson] = await this.#o.db.select().from(lessons).where(eq(lessons.id, row.lessonId)).limit(1);
    if (lesson) {
      await this.#o.db
        .update(lessons)
        .set(
          lesson.videoPath
            ? { videoStatus: 'ready', videoError: `The last upload failed: ${reason}` }
            : { videoStatus: 'failed', videoError: reason },
        )
        .where(eq(lessons.id, row.lessonId));
    }
  }

  /** Stops running ffmpegs; their rows stay 'running' and are requeued by the next start(). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { job } of this.#running.values()) job.close();
    await this.#pumping;
    await Promise.allSettled([...this.#runs.values()]);
  }
}

/** Removes a directory that nothing else has written into (a lesson's, once its cancelled run's scratch is gone). */
function removeIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty (the lesson's video is there) or already gone
  }
}
