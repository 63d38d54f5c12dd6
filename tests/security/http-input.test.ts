// HTTP input and what the API tells whom, against the real server: a JSON body is refused as soon as it passes
// the limit (even when streamed without a length), course thumbnails are web links only, and a failed
// transcode's ffmpeg output (server paths, the teacher's file name) reaches the course's editors but never its
// visitors or students.
import net from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, transcodeJobs } from '../../server/db/schema.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { HttpClient } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('HTTP input and information exposure', () => {
  let server: TestServer;
  let people: People;
  let courseId: string;
  let lessonId: string;
  const ffmpegOutput = 'Transcode failed (exit 1): /var/lib/lectern/transcodes/4f1c/720p/seg-00001.ts: No space left on device';

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    const created = await people.teacher.client.post('/api/courses', { title: 'Exposure course' });
    courseId = created.body.course.id;
    lessonId = (await people.teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lesson one' })).body.lesson.id;
    expect((await people.teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
    expect((await people.student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    // A transcode that failed the way ffmpeg reports it (written as the queue records failures).
    const db = server.db;
    await db.update(lessons).set({ videoStatus: 'failed', videoError: ffmpegOutput }).where(eq(lessons.id, lessonId));
    await db.insert(transcodeJobs).values({
      lessonId,
      status: 'failed',
      sourcePath: 'incoming/upload-1.mp4',
      originalName: 'Secret draft - do not share.mp4',
      error: ffmpegOutput,
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 413 while an oversized chunked JSON body is still arriving, instead of buffering all of it', async () => {
    const { hostname, port } = new URL(server.url);
    const socket = net.connect(Number(port), hostname);
    const answer = new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (d) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text.split('\r\n')[0]!);
      });
      socket.on('error', reject);
      setTimeout(() => resolve('no answer while the body was still being sent'), 10_000);
    });
    socket.write(
      `POST /api/auth/login HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = '{"pad":"' + 'x'.repeat(16 * 1024) + '"}';
    // 160 KiB, more than the 64 KiB limit, and never the final zero-length chunk: the body does not end.
    try {
      for (let i = 0; i < 10; i++) socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
      expect(await answer).toBe('HTTP/1.1 413 Payload Too Large');
    } finally {
      socket.destroy();
    }
  });

  it('accepts only http(s) course thumbnails', async () => {
    const teacher = people.teacher.client;
    for (const thumbnailUrl of ['javascript:alert(document.cookie)', 'data:image/svg+xml,<svg onload=alert(1)>', 'file:///etc/passwd']) {
      const res = await teacher.patch(`/api/courses/${courseId}`, { thumbnailUrl });
      expect(res.status, thumbnailUrl).toBe(400);
      expect(res.body.error.issues[0].path).toBe('thumbnailUrl');
    }
    const created = await teacher.post('/api/courses', { title: 'Bad thumb', thumbnailUrl: 'javascript:alert(1)' });
    expect(created.status).toBe(400);
    const ok = await teacher.patch(`/api/courses/${courseId}`, { thumbnailUrl: 'https://cdn.example.org/thumb.jpg' });
    expect(ok.status).toBe(200);
    expect(ok.body.course.thumbnailUrl).toBe('https://cdn.example.org/thumb.jpg');
  });

  it("shows a failed transcode's details to the course editors only", async () => {
    const anonymous = new HttpClient(server.url);
    for (const [who, client] of [
      ['visitor', anonymous],
      ['outsider', people.outsider.client],
      ['student', people.student.client],
    ] as const) {
      const page = await client.get(`/api/courses/${courseId}`);
      expect(page.status, who).toBe(200);
      expect(page.body.lessons[0].videoStatus, who).toBe('failed');
      expect(page.body.lessons[0].videoError, who).toBeNull();
    }
    const lesson = await people.student.client.get(`/api/lessons/${lessonId}`);
    expect(lesson.status).toBe(200);
    expect(lesson.body.lesson.videoError).toBeNull();
    expect(lesson.body.video.status).toBe('failed');
    expect(lesson.body.video.error).toBeNull();
    expect(lesson.body.video.job).toBeNull();
    expect(JSON.stringify(lesson.body)).not.toContain('/var/lib/lectern');

    for (const editor of [people.teacher, people.admin]) {
      const page = await editor.client.get(`/api/courses/${courseId}`);
      expect(page.body.lessons[0].videoError).toBe(ffmpegOutput);
      const view = await editor.client.get(`/api/lessons/${lessonId}`);
      expect(view.body.video.error).toBe(ffmpegOutput);
      expect(view.body.video.job.originalName).toBe('Secret draft - do not share.mp4');
    }
  });
});
