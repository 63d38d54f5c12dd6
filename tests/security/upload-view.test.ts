// The lesson video view served to enrolled students carries the state only: the teacher's upload details
// (file name, size) and ffmpeg's error output are for the course's editors (TranscodeQueue.view).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, transcodeJobs } from '../../server/db/schema.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('lesson video view for students', () => {
  let server: TestServer;
  let people: People;
  let lessonId: string;
  const ffmpegOutput = 'Transcode failed (exit 1): /var/lib/lectern/transcodes/4f1c/720p/seg-00001.ts: No space left on device';

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    const courseId = (await people.teacher.client.post('/api/courses', { title: 'Exposure course' })).body.course.id;
    lessonId = (await people.teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lesson one' })).body.lesson.id;
    await people.teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    await people.student.client.post(`/api/courses/${courseId}/enrollment`);
    await server.db.update(lessons).set({ videoStatus: 'failed', videoError: ffmpegOutput }).where(eq(lessons.id, lessonId));
    await server.db
      .insert(transcodeJobs)
      .values({ lessonId, status: 'failed', sourcePath: 'incoming/u.mp4', originalName: 'Secret draft.mp4', error: ffmpegOutput });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('GET /api/lessons/:id/video hides upload details and ffmpeg output from students', async () => {
    const res = await people.student.client.get(`/api/lessons/${lessonId}/video`);
    expect(res.status).toBe(200);
    expect(res.body.video.status).toBe('failed');
    expect(res.body.video.error).toBeNull();
    expect(res.body.video.job).toBeNull();
    const teacher = await people.teacher.client.get(`/api/lessons/${lessonId}/video`);
    expect(teacher.body.video.job.originalName).toBe('Secret draft.mp4');
  });
});
