// A lesson video's signed URL stops opening files once its holder left the course: the token's signature is
// not enough, its holder must still be allowed to watch the lesson (as class media re-checks too).
import fs from 'node:fs';
import path from 'node:path';
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
    // The lesson's transcoded playlist on disk, as the transcode queue leaves it.
    const hls = path.join(server.dataDir, 'lessons', lessonId, 'hls');
    fs.mkdirSync(hls, { recursive: true });
    fs.writeFileSync(path.join(hls, 'master.m3u8'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n');
    const url = server.lessonVideos.playbackUrl(lessonId, people.student.user.id);
    // The token rides in the path; the playlist's children are relative to it, so they carry it too.
    expect(url).toMatch(new RegExp(`^/media/t/[^/?]+/lessons/${lessonId}/hls/master\\.m3u8$`));
    const before = await fetch(server.url + url);
    expect(before.status).toBe(200);
    expect(await before.text()).toMatch(/^360p\/index\.m3u8$/m);

    // Another person's, an expired, or another lesson's token in the same place: refused.
    const scope = { kind: 'lesson' as const, id: lessonId };
    const withToken = (token: string) => `${server.url}/media/t/${encodeURIComponent(token)}/lessons/${lessonId}/hls/master.m3u8`;
    for (const [token, code] of [
      [server.mediaAccess.tokens.sign(scope, people.outsider.user.id).token, 'forbidden'],
      [server.mediaAccess.tokens.sign(scope, people.student.user.id, -5).token, 'token_expired'],
      [server.mediaAccess.tokens.sign({ kind: 'lesson', id: crypto.randomUUID() }, people.student.user.id).token, 'token_invalid'],
      [server.mediaAccess.tokens.sign({ kind: 'recording', id: lessonId }, people.student.user.id).token, 'token_invalid'],
    ] as const) {
      const refused = await fetch(withToken(token));
      expect({ code, status: refused.status, error: (await refused.json()).error.code }).toEqual({ code, status: 403, error: code });
    }

    expect((await people.student.client.request('DELETE', `/api/courses/${courseId}/enrollment`, {})).status).toBe(200);
    const after = await fetch(server.url + url);
    expect(after.status).toBe(403);
    expect((await after.json()).error).toEqual({ code: 'forbidden', message: 'You may no longer watch this lesson' });
  });
});
