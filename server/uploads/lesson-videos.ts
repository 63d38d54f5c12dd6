// An uploaded lesson's video, as teachers and students deal with it: an upload arriving (the lesson and one of
// the uploader's slots reserved while its body streams in), handed to the transcode queue, the state the
// lesson page polls (with a playback URL signed for the viewer once ready), removal, and the finished HLS set
// the /media routes serve. A lesson's files are kept in media storage under `lessons/<id>` (the HLS set in
// `hls/`, its caption track beside it): made on this machine, uploaded to the object store (when there is
// one) once transcoded.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { lessons, transcodeJobs, type Lesson, type TranscodeJob as TranscodeJobRow } from '../db/schema.ts';
import type { LessonVideoView } from '../contracts/uploads.ts';
import { CaptionTrack } from '../hls/caption-tracks.ts';
import type { MediaAccess } from '../hls/media-access.ts';
import type { MediaStorage } from '../storage/media-storage.ts';
import { mediaUrl, type RenditionSet } from '../hls/rendition-set.ts';
import { SEGMENT_CACHE } from '../hls/run-renditions.ts';
import { VodRenditions } from '../hls/vod-renditions.ts';
import type { TranscodeQueue } from './transcode-queue.ts';
import { UploadRefused, UploadReservations, type UploadReservation } from './upload-reservations.ts';

export interface LessonVideosOptions {
  db: Database;
  dataDir: string;
  queue: TranscodeQueue;
  /** Where finished lesson videos are kept. */
  storage: MediaStorage;
  access: MediaAccess;
  /** Uploads one person may have arriving at once in this process (default 2). */
  uploadsPerUploader?: number;
}

/**
 * A lesson's video may be replaced by a new upload with the same file names, so its playlists are kept only a
 * few seconds. Its segments are cached like a replay's (long, immutable): their URLs carry the viewer's token,
 * which lives ten minutes, and a page signed after the replacement gets a new token, so new URLs.
 */
const PLAYLIST_CACHE = 'private, max-age=5';

export class LessonVideos {
  /** Uploads arriving in this process, reserved before their bodies are read. */
  readonly uploads: UploadReservations;
  readonly #o: LessonVideosOptions;

  constructor(options: LessonVideosOptions) {
    this.#o = options;
    this.uploads = new UploadReservations({ maxPerUploader: options.uploadsPerUploader ?? 2 });
    // A new video replaces the lesson's files in the store too (names a new ladder no longer has go).
    options.queue.on('ready', (lessonId) => options.storage.upload(videoPrefix(lessonId), { replace: true }));
  }

  /** Where uploads land while arriving (emptied at start: nothing there outlives a process). */
  get incomingDir(): string {
    return path.join(this.#o.dataDir, 'uploads', 'incoming');
  }

  /** Clears partial uploads a stopped process left behind. */
  start(): void {
    fs.rmSync(this.incomingDir, { recursive: true, force: true });
    fs.mkdirSync(this.incomingDir, { recursive: true });
  }

  /**
   * Holds the lesson (and one of the uploader's upload slots) while a body arrives; throws UploadRefused when
   * an upload for the lesson is arriving or its video is still being processed, or the uploader has too many
   * uploads arriving. The caller releases the reservation once the upload is queued or has failed.
   */
  async reserveUpload(lessonId: string, uploaderId: string): Promise<UploadReservation> {
    const reservation = this.uploads.reserve(lessonId, uploaderId);
    try {
      if (await this.#o.queue.busy(lessonId)) throw new UploadRefused('lesson_busy', 'A video for this lesson is still being processed');
    } catch (err) {
      reservation.release();
      throw err;
    }
    return reservation;
  }

  /**
   * Takes an arrived (and probed) upload under the data directory and queues its transcode; the file is
   * removed when the queue refuses it (another process queued a video for the lesson meanwhile).
   */
  async accept(
    lessonId: string,
    incomingFile: string,
    meta: { originalName: string; sizeBytes: number; durationSeconds: number },
  ): Promise<TranscodeJobRow> {
    // Unique per upload: two uploads of one lesson may arrive in the same millisecond (one is then refused).
    const sourceRel = path.join(
      'uploads',
      'sources',
      `${lessonId}-${randomUUID()}${path.extname(meta.originalName).slice(0, 10) || '.bin'}`,
    );
    const sourceAbs = path.join(this.#o.dataDir, sourceRel);
    try {
      fs.mkdirSync(path.dirname(sourceAbs), { recursive: true });
      fs.renameSync(incomingFile, sourceAbs);
      return await this.#o.queue.enqueue(lessonId, sourceRel, meta);
    } catch (err) {
      for (const file of [incomingFile, sourceAbs]) fs.rmSync(file, { force: true });
      throw err;
    }
  }

  /**
   * The lesson's video state as `viewerId` sees it (with a playback URL signed for them when ready). The
   * upload's details (file name, size, ffmpeg's error output) are for editors (the course's teacher and
   * admins) only; everyone else sees the state alone.
   */
  async view(lesson: Lesson, viewerId: string, viewer: { editor: boolean }): Promise<LessonVideoView> {
    const job = viewer.editor ? await this.#o.queue.latestJob(lesson.id) : null;
    return {
      lessonId: lesson.id,
      status: lesson.videoStatus,
      error: viewer.editor ? lesson.videoError : null,
      job: job && {
        id: job.id,
        status: job.status,
        progressPercent: job.progressPercent,
        attempts: job.attempts,
        originalName: job.originalName,
        sizeBytes: job.sizeBytes,
        error: job.error,
      },
      playbackUrl: lesson.videoStatus === 'ready' && lesson.videoPath ? this.playbackUrl(lesson.id, viewerId) : null,
    };
  }

  /** URL of the lesson's master playlist for this viewer. */
  playbackUrl(lessonId: string, userId: string): string {
    const { token } = this.#o.access.sign({ kind: 'lesson', id: lessonId }, userId);
    return mediaUrl(token, `lessons/${lessonId}/hls/master.m3u8`);
  }

  /** The lesson's caption track: kept with its video, so removing the video removes its captions. */
  captions(lessonId: string): CaptionTrack {
    return new CaptionTrack(this.#o.storage, lessonPrefix(lessonId));
  }

  /** The lesson's finished HLS set (a missing one answers null to every request). */
  renditions(lessonId: string): RenditionSet {
    return new VodRenditions(this.#o.storage, videoPrefix(lessonId), { playlistCache: PLAYLIST_CACHE, segmentCache: SEGMENT_CACHE });
  }

  /** Bytes the lesson's video takes in storage (its HLS set, captions, a transcode under way; not a source waiting for one). */
  storedBytes(lessonId: string): Promise<number> {
    return this.#o.storage.sizeOfPrefix(lessonPrefix(lessonId));
  }

  /** Uploads the ready lesson videos still on this machine only (an upload a stop or an unreachable store interrupted). */
  async uploadPending(): Promise<void> {
    if (!this.#o.storage.remote) return;
    const ready = await this.#o.db.select({ id: lessons.id }).from(lessons).where(eq(lessons.videoStatus, 'ready'));
    for (const { id } of ready) if (fs.existsSync(this.#o.queue.videoDir(id))) this.#o.storage.upload(videoPrefix(id), { replace: true });
  }

  /** Stops work for lessons about to be deleted and removes their files (rows go with the lesson by cascade). */
  async forgetLessons(lessonIds: string[]): Promise<void> {
    await this.#o.queue.cancel(lessonIds);
    for (const id of lessonIds) await this.#o.storage.deletePrefix(lessonPrefix(id));
  }

  /** Removes a lesson's video (files and state). */
  async remove(lessonId: string): Promise<void> {
    await this.forgetLessons([lessonId]);
    await this.#o.db.delete(transcodeJobs).where(eq(transcodeJobs.lessonId, lessonId));
    await this.#o.db.update(lessons).set({ videoStatus: 'none', videoPath: null, videoError: null }).where(eq(lessons.id, lessonId));
  }
}

/** Everything of a lesson's video in media storage (TranscodeQueue.lessonDir on this machine). */
const lessonPrefix = (lessonId: string) => `lessons/${lessonId}`;
/** The lesson's HLS set (TranscodeQueue.videoDir). */
const videoPrefix = (lessonId: string) => `lessons/${lessonId}/hls`;
