// Who may reach a live class, and how much one person may put into it, against the real server: a student
// the teacher removed loses the broadcast and the replays too (not only the socket), and polls and questions
// are bounded per class and per person so one account cannot grow what every member downloads on join.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../server/contracts/interaction.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectAs, errorOf, joinAs, ok } from '../helpers/socket-client.ts';

describe('class access and per-class bounds', () => {
  let server: TestServer;
  let teacher: RegisteredUser;
  let students: RegisteredUser[];
  let classId: string;

  beforeAll(async () => {
    server = await startTestServer();
    teacher = await registerUser(server.url, 'teacher', 'Tess Teacher');
    students = await Promise.all([0, 1, 2].map((i) => registerUser(server.url, 'student', `Student ${i}`)));
    ({ classId } = await insertClass(server.db, {
      teacherId: teacher.user.id,
      studentIds: students.map((s) => s.user.id),
      title: 'Bounded class',
      courseTitle: 'Bounded course',
      live: true,
    }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('takes the broadcast, the recordings and the replay links away from a student the teacher removed', async () => {
    const removed = students[0]!;
    const stays = students[1]!;
    expect((await removed.client.get(`/api/media/classes/${classId}/live`)).status).toBe(200);
    expect(await server.mediaAccess.mayWatchClass(removed.user.id, classId)).toBe(true); // now cached as allowed

    const t = await joinAs(server.url, teacher, classId);
    await ok(t, 'moderation:remove', { userId: removed.user.id });

    const live = await removed.client.get(`/api/media/classes/${classId}/live`);
    expect(live.status).toBe(403);
    expect(live.body.error.code).toBe('forbidden');
    expect((await removed.client.get(`/api/media/classes/${classId}/recordings`)).status).toBe(403);
    // Signed URLs already handed out stop opening files too: the access cache forgets the removed student.
    expect(await server.mediaAccess.mayWatchClass(removed.user.id, classId)).toBe(false);
    // Everyone else keeps watching.
    expect((await stays.client.get(`/api/media/classes/${classId}/live`)).status).toBe(200);
    expect(await server.mediaAccess.mayWatchClass(stays.user.id, classId)).toBe(true);
    // And the class:join refusal still says why.
    const retry = await connectAs(server.url, removed);
    expect(await errorOf(retry, 'class:join', { classId })).toEqual({
      code: 'removed',
      message: 'The teacher removed you from this class',
    });
    retry.disconnect();
    t.disconnect();
  });

  it('refuses a poll beyond the per-class limit with a clear error, keeping the existing polls', async () => {
    const book = server.interaction.polls;
    const poll = (i: number) => ({
      question: `Poll ${i}?`,
      kind: 'single' as const,
      quiz: false,
      allowChange: false,
      showResults: false,
      options: [
        { label: 'Yes', correct: false },
        { label: 'No', correct: false },
      ],
    });
    for (let i = 0; i < LIMITS.pollsPerClass - 1; i++) await book.create(classId, teacher.user.id, poll(i));
    const t = await joinAs(server.url, teacher, classId);
    await ok(t, 'poll:create', { question: 'The last one?', options: [{ label: 'Yes' }, { label: 'No' }] });
    const refused = await errorOf(t, 'poll:create', { question: 'One too many?', options: [{ label: 'Yes' }, { label: 'No' }] });
    expect(refused.code).toBe('too_many_polls');
    expect(refused.message).toContain(String(LIMITS.pollsPerClass));
    expect(await book.list(classId)).toHaveLength(LIMITS.pollsPerClass);
    t.disconnect();
  });

  it('refuses a question beyond the per-person limit of a class, while others may still ask', async () => {
    const asker = students[1]!;
    const board = server.interaction.questions;
    for (let i = 0; i < LIMITS.questionsPerPerson; i++) await board.ask(classId, asker.user.id, `Question ${i}`, false);
    const s = await joinAs(server.url, asker, classId);
    const refused = await errorOf(s, 'question:ask', { body: 'And another one?' });
    expect(refused.code).toBe('too_many_questions');
    expect(refused.message).toContain(String(LIMITS.questionsPerPerson));
    expect(await board.askedBy(classId, asker.user.id)).toHaveLength(LIMITS.questionsPerPerson);
    const other = await joinAs(server.url, students[2]!, classId);
    const asked = await ok(other, 'question:ask', { body: 'May I still ask?' });
    expect(asked.body).toBe('May I still ask?');
    s.disconnect();
    other.disconnect();
  });
});
