// /api/lessons/:lessonId/video: a teacher uploads a lesson video (raw body, streamed to disk, size-limited,
// checked with ffprobe) which is then transcoded to HLS in the background; viewers poll its state.
import fs from 'node:fs';
import { Hono } from 'hono';
import { canEditCourse, canWatchCourse } from '../../auth/permissions.ts';
import { probeMedia, ProbeError } from '../../uploads/media-probe.ts';
import { receiveUpload, UploadTooLarge } from '../../uploads/upload-receiver.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { lessonAccess } from './access.ts';

const editOnly = 'Only the course teacher or an admin may upload this lesson\'s video';

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB`;
}

function fileName(header: string | undefined): string {
  let name = '';
  try {
    name = decodeURIComponent(header ?? '');
  } catch {
    name = '';
  }
  return name.replace(/[\u0000-\u001f/\\]/g, '').slice(0, 200) || 'video';
}

export const uploadRoutes = new Hono<AppEnv>()
  .get('/:lessonId/video', async (c) => {
    const user = requireUser(c);
    const { lesson } = await lessonAccess(c, canWatchCourse, 'Enroll in the course to watch its lessons');
    return c.json({ video: await c.get('services').transcodes.view(lesson, user.id) });
  })
  .put('/:lessonId/video', async (c) => {
    const services = c.get('services');
    const user = requireUser(c);
    const { lesson } = await lessonAccess(c, canEditCourse, editOnly);
    const max = services.config.maxUploadBytes;
    const declared = Number(c.req.header('content-length') ?? NaN);
    // Refused before the body is read: the connection must not be reused for the next request.
    if (Number.isFinite(declared) && declared > max) c.header('connection', 'close');
    if (Number.isFinite(declared) && declared > max) throw new ApiFailure(413, 'too_large', `The file is ${mib(declared)}; the limit is ${mib(max)}`);
    if (declared === 0) throw new ApiFailure(400, 'empty_upload', 'The file is empty');
    if (!services.ffmpeg.found) throw new ApiFailure(503, 'ffmpeg_missing', 'Video processing is not available on this server');
    if (await services.transcodes.busy(lesson.id)) throw new ApiFailure(409, 'busy', 'A video for this lesson is still being processed');

    let received: { file: string; sizeBytes: number };
    try {
      received = await receiveUpload(c.req.raw.body, services.transcodes.incomingDir, max);
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
      durationSeconds = (await probeMedia(services.config.ffprobePath, received.file)).durationSeconds;
    } catch (err) {
      fs.rmSync(received.file, { force: true });
      if (err instanceof ProbeError) throw new ApiFailure(422, 'not_a_video', err.message);
      throw err;
    }
    const originalName = fileName(c.req.header('x-file-name'));
    const job = await services.transcodes.enqueue(lesson.id, received.file, { originalName, sizeBytes: received.sizeBytes, durationSeconds }).catch((err: unknown) => {
      fs.rmSync(received.file, { force: true });
      throw err;
    });
    services.log.info({ lessonId: lesson.id, jobId: job.id, bytes: received.sizeBytes }, 'lesson video uploaded');
    const [fresh] = await services.courses.lessonsByIds([lesson.id]);
    return c.json({ video: await services.transcodes.view(fresh ?? lesson, user.id) }, 202);
  })
  .delete('/:lessonId/video', async (c) => {
    const services = c.get('services');
    const { lesson } = await lessonAccess(c, canEditCourse, editOnly);
    await services.transcodes.removeVideo(lesson.id);
    return c.json({ ok: true });
  });
