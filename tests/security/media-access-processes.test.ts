// Signed media URLs re-check access through a short per-process cache. Two server processes share
// PostgreSQL and the media secret: a student who unenrolls through one loses that process's class and lesson
// media at once, and the other process's within the cache's lifetime (a few seconds, not the token's ten
// minutes). Below, the cache itself: lifetime, per-user forgetting, and no stale decision stored across a forget.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_CACHE_MS, AccessCache } from '../../server/auth/access-cache.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { liveClasses } from '../../server/db/schema.ts';
import { MediaTokens } from '../../server/hls/media-tokens.ts';
import { createScratchDatabase } from '../helpers/databases.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { serverEnv, ServerProcess } from '../helpers/server-process.ts';

const SECRET = 'shared-media-secret-for-both-processes';

describe('media access across two server processes', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let database: DatabaseHandle;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-access-'));
  let teacher: RegisteredUser;
  let student: RegisteredUser;
  let courseId: string;
  let lessonId: string;
  let classId: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    const start = (name: string) =>
      ServerProcess.start({ ...serverEnv({ dataDir: path.join(dataDir, name), databaseUrl: scratch.url }), LECTERN_MEDIA_SECRET: SECRET });
    a = await start('a'); // migrates the database first
    b = await start('b');
    database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
    teacher = await registerUser(a.url, 'teacher', 'Teacher');
    student = await registerUser(a.url, 'student', 'Student');
    courseId = (await teacher.client.post('/api/courses', { title: 'Two-process course' })).body.course.id;
    lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lesson one' })).body.lesson.id;
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const [row] = await database.db
      .insert(liveClasses)
      .values({ courseId, teacherId: teacher.user.id, title: 'Class one', scheduledAt: new Date() })
      .returning();
    classId = row!.id;
  });
  afterAll(async () => {
    await database?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes class and lesson media away from an unenrolled student on every process within the cache lifetime', async () => {
    // Tokens as the API hands them out (either process signs the same way with the shared secret).
    const tokens = new MediaTokens(SECRET);
    const token = (kind: 'class' | 'lesson', id: string) => encodeURIComponent(tokens.sign({ kind, id }, student.user.id).token);
    const classUrl = `/media/classes/${classId}/live/master.m3u8?token=${token('class', classId)}`;
    const lessonUrl = `/media/lessons/${lessonId}/hls/master.m3u8?token=${token('lesson', lessonId)}`;
    const status = async (server: ServerProcess, url: string) => (await fetch(server.url + url)).status;

    // Allowed on both (404: the class is not streaming and no video was uploaded), and now cached as allowed.
    for (const server of [a, b]) {
      expect(await status(server, classUrl)).toBe(404);
      expect(await status(server, lessonUrl)).toBe(404);
    }

    // Unenrolling through A: A forgets at once.
    const left = await student.client.request('DELETE', `/api/courses/${courseId}/enrollment`, {});
    expect(left.status).toBe(200);
    expect(await status(a, classUrl)).toBe(403);
    expect(await status(a, lessonUrl)).toBe(403);

    // B never heard of it: its cached decision runs out within ACCESS_CACHE_MS (the bound, with slack for
    // a loaded machine), far short of the token's lifetime.
    const bound = { timeout: ACCESS_CACHE_MS + 5_000, interval: 250 };
    await expect.poll(() => status(b, classUrl), bound).toBe(403);
    await expect.poll(() => status(b, lessonUrl), bound).toBe(403);
  });
});

describe('AccessCache', () => {
  function clock() {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it('remembers a decision for its lifetime, then asks again', async () => {
    const time = clock();
    const cache = new AccessCache({ ttlMs: 5_000, now: time.now });
    let answer = true;
    let asked = 0;
    const decide = async () => (asked++, answer);
    expect(await cache.check('u1', 'x', decide)).toBe(true);
    answer = false;
    time.advance(4_999);
    expect(await cache.check('u1', 'x', decide)).toBe(true);
    expect(asked).toBe(1);
    time.advance(1);
    expect(await cache.check('u1', 'x', decide)).toBe(false);
    expect(asked).toBe(2);
  });

  it('forgets one user without touching the others, or everyone', async () => {
    const cache = new AccessCache();
    let answer = true;
    const decide = async () => answer;
    await cache.check('u1', 'x', decide);
    await cache.check('u2', 'x', decide);
    answer = false;
    cache.forget('u1');
    expect(await cache.check('u1', 'x', decide)).toBe(false);
    expect(await cache.check('u2', 'x', decide)).toBe(true);
    cache.forget();
    expect(await cache.check('u2', 'x', decide)).toBe(false);
  });

  it('does not keep a decision that was being made while the user was forgotten', async () => {
    const cache = new AccessCache();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    // A check started before the unenrollment reads "allowed"; the forget lands before it finishes.
    const inFlight = cache.check('u1', 'x', async () => (await slow, true));
    cache.forget('u1');
    release();
    expect(await inFlight).toBe(true);
    expect(await cache.check('u1', 'x', async () => false)).toBe(false);
  });
});
