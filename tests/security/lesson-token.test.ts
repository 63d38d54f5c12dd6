// A lesson video's signed URL stops opening files once its holder left the course: the token's signature is
// not enough, its holder must still be allowed to watch the lesson (as class media re-checks too).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPeople, type People } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('lesson media tokens', () => {
  let server: TestServer;
  let people: People;
  let courseId: string;
  let lessonId: string;

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    courseId = (await people.teacher.client.post('/api/courses', { title: 'Token course' })).body.course.id;
    lessonId = (await people.teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lesson one' })).body.lesson.id;
    await people.teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    await people.student.client.post(`/api/courses/${courseId}/enrollment`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses a lesson media URL once its holder is no longer enrolled', async () => {
    const url = server.services.lessonMedia.playbackUrl(lessonId, people.student.user.id);
    expect((await people.student.client.request('DELETE', `/api/courses/${courseId}/enrollment`, {})).status).toBe(200);
    const res = await fetch(server.url + url);
    expect(res.status).toBe(403); // today: the token alone passes (404 here only because no file was transcoded)
  });
});
