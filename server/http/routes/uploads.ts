// /api/lessons/:lessonId/video: a teacher uploads a lesson video (raw body, streamed to disk, size-limited,
// checked with ffprobe) which is then transcoded to HLS in the background; viewers poll its state. The lesson
// is reserved before the body is read (one upload per lesson, a few per teacher at once) and released once
// the video is queued or the upload failed.
import fs from 'node:fs';
import { Hono, type Context } from 'hono';
import { canEditCourse, canWatchCourse, type Permissions } from '../../auth/permissions.ts';
import type { CourseCatalog } from '../../courses/course-catalog.ts';
import type { FfmpegInfo } from '../../hls/ffmpeg-info.ts';
import type { Logger } from '../../log.ts';
import type { LessonVideos } from '../../uploads/lesson-videos.ts';
import { probeMedia, ProbeError } from '../../uploads/media-probe.ts';
import { receiveUpload, UploadTooLarge } from '../../uploads/upload-receiver.ts';
import { UploadRefused } from '../../uploads/upload-reservations.ts';
import type { Lesson } from '../../db/schema.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { lessonAccess } from './access.ts';

const editOnly = "Only the course teacher or an admin may upload this lesson's video";

export interface UploadRouteParts {
  permissions: Permissions;
  /** Lesson videos: uploads arriving, their state, removal. */
  videos: LessonVideos;
  courses: Pick<CourseCatalog, 'lessonsByIds'>;
  ffmpeg: FfmpegInfo;
  ffprobePath: string;
  /** LECTERN_MAX_UPLOAD_BYTES */
  maxUploadBytes: number;
  log: Logger;
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB`;
}

/** The uploader's file name, for the editors' eyes only: without control characters or path separators. */
function fileName(header: string | undefined): string {
  let name: string;
  try {
    name = decodeURIComponent(header ?? '');
  } catch {
    name = '';
  }
  return name.replace(/[\p{Cc}/\\]/gu, '').slice(0, 200) || 'video';
}

/** Refused before the body is read: the connection must not be reused for the next request. */
function refuseUnread(c: Context<AppEnv>, failure: ApiFailure): never {
  c.header('connection', 'close');
  throw failure;
}

function refusal(err: UploadRefused): ApiFailure {
  return err.code === 'uploader_busy' ? new ApiFailure(429, 'too_many_uploads', err.message) : new ApiFailure(409, 'busy', err.message);
}

export const uploadRoutes = (parts: UploadRouteParts) =>
  new Hono<AppEnv>()
    .get('/:lessonId/video', async (c) => {
      const user = requireUser(c);
      const { lesson, role } = await lessonAccess(parts.permissions, c, canWatchCourse, 'Enroll in the course to watch its lessons');
      return c.json({ video: await parts.videos.view(lesson, user.id, { editor: canEditCourse(role) }) });
    })
    .put('/:lessonId/video', async (c) => {
      const user = requireUser(c);
      const { lesson } = await lessonAccess(parts.permissions, c, canEditCourse, editOnly);
      const max = parts.maxUploadBytes;
      const declared = Number(c.req.header('content-length') ?? NaN);
      if (Number.isFinite(declared) && declared > max)
        refuseUnread(c, new ApiFailure(413, 'too_large', `The file is ${mib(declared)}; the limit is ${mib(max)}`));
      if (declared === 0) throw new ApiFailure(400, 'empty_upload', 'The file is empty');
      if (!parts.ffmpeg.found) refuseUnread(c, new ApiFailure(503, 'ffmpeg_missing', 'Video processing is not available on this server'));
      const reservation = await parts.videos.reserveUpload(lesson.id, user.id).catch((err: unknown) => {
        if (err instanceof UploadRefused) refuseUnread(c, refusal(err));
        throw err;
      });
      try {
        return await receiveAndQueue(parts, c, lesson, user.id);
      } finally {
        reservation.release();
      }
    })
    .delete('/:lessonId/video', async (c) => {
      const { lesson } = await lessonAccess(parts.permissions, c, canEditCourse, editOnly);
      await parts.videos.remove(lesson.id);
      return c.json({ ok: true });
    });

/** Streams the body to disk, probes it and queues its transcode; every failure removes what was received. */
async function receiveAndQueue(parts: UploadRouteParts, c: Context<AppEnv>, lesson: Lesson, userId: string): Promise<Response> {
  const { videos, maxUploadBytes: max } = parts;
  let received: { file: string; sizeBytes: number };
  try {
    received = await receiveUpload(c.req.raw.body, videos.incomingDir, max);
  } catch (err) {
    c.header('connection', 'close');
    if (err instanceof UploadTooLarge) throw new ApiFailure(413, 'too_large', `The file is larger than the limit of ${mib(max)}`);
    throw new ApiFailure(400, 'upload_interrupted', 'The upload did not complete');
  }
  if (received.sizeBytes === 0) {
    fs.rmSync(received.file, { force: true });
    throw new ApiFailure(400, 'empty_upload', 'The file is empty');
  }
  let durationSeconds: number;
  try {
    durationSeconds = (await probeMedia(parts.ffprobePath, received.file)).durationSeconds;
  } catch (err) {
    fs.rmSync(received.file, { force: true });
    if (err instanceof ProbeError) throw new ApiFailure(422, 'not_a_video', err.message);
    throw err;
  }
  const originalName = fileName(c.req.header('x-file-name'));
  const job = await videos
    .accept(lesson.id, received.file, { originalName, sizeBytes: received.sizeBytes, durationSeconds })
    .catch((err: unknown) => {
      // Another server process queued a video for this lesson while this body arrived.
      if (err instanceof UploadRefused) throw refusal(err);
      throw err;
    });
  parts.log.info({ lessonId: lesson.id, jobId: job.id, bytes: received.sizeBytes }, 'lesson video uploaded');
  const [fresh] = await parts.courses.lessonsByIds([lesson.id]);
  return c.json({ video: await videos.view(fresh ?? lesson, userId, { editor: true }) }, 202);
}
