// Marking chapters during a class over real Socket.io against the real server and database: the teacher marks
// one now (titled, or numbered without a title), students may not, bad payloads are refused, and a class that is
// not live takes no chapter.
import type { Socket } from 'socket.io-client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarkedChapter } from '../../server/contracts/timeline.ts';
import { classChapters, liveClasses } from '../../server/db/schema.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { errorOf, joinAs, ok } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe('chapter:mark', () => {
  let server: TestServer;
  let teacher: Person;
  let student: Person;
  let classId: string;
  let t: Socket;
  let s: Socket;

  beforeAll(async () => {
    server = await startTestServer();
    teacher = await registerUser(server.url, 'teacher', 'Ada Teacher');
    student = await registerUser(server.url, 'student', 'Sam Student');
    classId = await createLiveClass(server.db, teacher, [student]);
    t = await joinAs(server.url, teacher, classId);
    s = await joinAs(server.url, student, classId);
  });
  afterAll(async () => {
    t?.disconnect();
    s?.disconnect();
    await server?.stop();
  });

  it('keeps the moment the teacher marks, with a title or numbered, and refuses students and bad payloads', async () => {
    const before = Date.now();
    const titled = await ok<MarkedChapter>(t, 'chapter:mark', { title: '  Refraction  ' });
    const numbered = await ok<MarkedChapter>(t, 'chapter:mark', {});
    const after = Date.now();
    expect(titled.title).toBe('Refraction');
    expect(numbered.title).toBe('Chapter 2');
    for (const chapter of [titled, numbered]) {
      expect(Date.parse(chapter.at)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(chapter.at)).toBeLessThanOrEqual(after);
    }

    expect(await errorOf(s, 'chapter:mark', { title: 'Mine' })).toEqual({
      code: 'forbidden',
      message: 'Only the teacher can mark chapters',
    });
    for (const bad of [{ title: 'x'.repeat(121) }, { title: '' }, { title: 'a\u0007b' }, { title: 7 }, { title: 'ok', at: 5 }, 'now'])
      expect((await errorOf(t, 'chapter:mark', bad)).code).toBe('invalid_input');

    const rows = await server.db.select().from(classChapters).where(eq(classChapters.classId, classId));
    expect(rows.map((r) => [r.title, r.at.toISOString(), r.createdBy])).toEqual(
      expect.arrayContaining([
        ['Refraction', titled.at, teacher.user.id],
        ['Chapter 2', numbered.at, teacher.user.id],
      ]),
    );
    expect(rows).toHaveLength(2);
  });

  it('takes no chapter once the class has ended', async () => {
    await server.db.update(liveClasses).set({ status: 'ended', endedAt: new Date() }).where(eq(liveClasses.id, classId));
    expect(await errorOf(t, 'chapter:mark', { title: 'Late' })).toEqual({
      code: 'invalid_state',
      message: 'Chapters are marked while the class is live',
    });
  });
});
