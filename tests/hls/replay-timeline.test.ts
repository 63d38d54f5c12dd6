// A replay's timeline over the API: a class recorded in two runs with the server down in between, its chat,
// questions (answered, upvoted, anonymous, dismissed) and polls (results shown or not) placed at the moments
// of the replay they happened; who may read it; chapters added, renamed, moved and deleted by the teacher or
// an admin only, with bad input refused; the chapters served as a WebVTT chapters track to those who may watch.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayTimeline, TimelineItem } from '../../server/contracts/timeline.ts';
import {
  chatMessages,
  classChapters,
  liveClasses,
  pollOptions,
  polls,
  pollVotes,
  questions,
  type Recording,
} from '../../server/db/schema.ts';
import type { RegisteredUser } from '../helpers/http-client.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { recordRuns } from '../helpers/recorded-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The class began ten minutes ago: run 0 from T0 for 4 s, the server was down, run 1 from T0 + 30 s for 3 s. */
const T0 = Date.now() - 600_000;
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe('replay timeline', () => {
  let server: TestServer;
  let people: People;
  let classId: string;
  let recording: Recording;
  const timelineOf = async (who: RegisteredUser) => {
    const res = await who.client.get(`/api/media/recordings/${recording.id}/timeline`);
    expect(res.status).toBe(200);
    return res.body as ReplayTimeline;
  };
  const byId = (timeline: ReplayTimeline, id: string): TimelineItem => {
    const item = timeline.items.find((i) => i.id === id);
    if (!item) throw new Error(`${id} is not on the timeline`);
    return item;
  };
  // As the page sends them: from the server's own origin.
  const send = (who: RegisteredUser, method: string, path: string, body?: unknown) =>
    who.client.request(method, `/api/media/recordings/${recording.id}/chapters${path}`, body, { origin: server.url });

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    const { teacher, student } = people;
    const courseId = (await teacher.client.post('/api/courses', { title: 'Timed optics' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lenses' });
    expect((await teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const [klass] = await server.db
      .insert(liveClasses)
      .values({ courseId, teacherId: teacher.user.id, title: 'Optics, live', scheduledAt: at(-60), startedAt: at(0), status: 'ended' })
      .returning();
    classId = klass!.id;
    recording = await recordRuns(server, classId, [
      { seconds: 4, startedAt: at(0) },
      { seconds: 3, startedAt: at(30) },
    ]);
  });
  afterAll(() => server?.stop());

  it('places chat, questions and polls at the moments of the replay they happened, as each viewer may see them', async () => {
    const { teacher, student, outsider, admin, otherTeacher } = people;
    const chat = (body: string, seconds: number, userId = student.user.id, deleted = false) =>
      server.db
        .insert(chatMessages)
        .values({ classId, userId, body, createdAt: at(seconds), ...(deleted ? { deletedAt: at(seconds + 1) } : {}) })
        .returning()
        .then((rows) => rows[0]!.id);
    const early = await chat('Before the camera came on', -5);
    const hello = await chat('Hello from the front row', 1.5);
    const inGap = await chat('Is the stream down?', 20);
    const back = await chat('Back again', 31, teacher.user.id);
    await chat('Something rude', 2, student.user.id, true);
    const [asked, hidden] = await server.db
      .insert(questions)
      .values([
        {
          classId,
          userId: student.user.id,
          body: 'Why do lenses bend light?',
          anonymous: true,
          status: 'answered',
          voteCount: 2,
          createdAt: at(2.5),
          answeredAt: at(32),
        },
        { classId, userId: student.user.id, body: 'Off topic', status: 'dismissed', createdAt: at(3) },
      ])
      .returning();
    const poll = async (question: string, seconds: number, showResults: boolean) => {
      const [row] = await server.db
        .insert(polls)
        .values({ classId, createdBy: teacher.user.id, question, showResults, status: 'closed', createdAt: at(seconds), closedAt: at(33) })
        .returning();
      const options = await server.db
        .insert(pollOptions)
        .values(['Convex', 'Concave'].map((label, position) => ({ pollId: row!.id, position, label })))
        .returning();
      await server.db.insert(pollVotes).values({ pollId: row!.id, userId: student.user.id, optionIds: [options[0]!.id] });
      return { id: row!.id, convex: options[0]!.id };
    };
    const shown = await poll('Which lens focuses light?', 3.25, true);
    const unshown = await poll('Which mirror makes you taller?', 32.5, false);

    const mine = await timelineOf(student);
    // Two runs joined: 4 s + 3 s of replay, and the 26 s the class went on without it where run 1 begins.
    expect(mine.durationSeconds).toBeCloseTo(7, 0);
    expect(mine.gaps).toHaveLength(1);
    const joint = mine.gaps[0]!.atSeconds;
    expect(joint).toBeCloseTo(4, 0);
    expect(mine.gaps[0]!.seconds).toBeCloseTo(30 - joint, 3);
    expect(mine.truncated).toBe(false);

    // In order of the replay; the deleted message and the dismissed question are not there.
    const expected: [TimelineItem['kind'], string, number][] = [
      ['chat', early, 0],
      ['chat', hello, 1.5],
      ['question', asked!.id, 2.5],
      ['poll', shown.id, 3.25],
      ['chat', inGap, joint],
      ['chat', back, joint + 1],
      ['poll', unshown.id, joint + 2.5],
    ];
    expect(mine.items.map((i) => [i.kind, i.id])).toEqual(expected.map(([kind, id]) => [kind, id]));
    for (const [i, [, , seconds]] of expected.entries()) expect(mine.items[i]!.atSeconds).toBeCloseTo(seconds, 2);
    expect(mine.items.some((i) => i.id === hidden!.id)).toBe(false);
    const question = byId(mine, asked!.id);
    expect(question.kind === 'question' && question.answeredAtSeconds).toBeCloseTo(joint + 2, 2);
    expect(question).toMatchObject({
      kind: 'question',
      question: { body: 'Why do lenses bend light?', status: 'answered', votes: 2, anonymous: true, author: null },
    });
    expect(byId(mine, hello)).toMatchObject({
      message: { body: 'Hello from the front row', author: { id: student.user.id, displayName: 'Sam Student', role: 'student' } },
    });
    expect(byId(mine, back)).toMatchObject({ message: { author: { role: 'teacher' } } });
    const shownPoll = byId(mine, shown.id);
    expect(shownPoll.kind === 'poll' && shownPoll.closedAtSeconds).toBeCloseTo(joint + 3, 2);
    expect(shownPoll).toMatchObject({
      kind: 'poll',
      poll: { question: 'Which lens focuses light?', status: 'closed', results: { voters: 1, counts: { [shown.convex]: 1 } } },
    });
    // Results the teacher did not show stay hidden from students, as in the class.
    expect(byId(mine, unshown.id)).toMatchObject({ poll: { results: null } });

    // The teacher and an admin see the anonymous author and every result.
    for (const staff of [teacher, admin]) {
      const theirs = await timelineOf(staff);
      expect(byId(theirs, asked!.id)).toMatchObject({ question: { author: { id: student.user.id, displayName: 'Sam Student' } } });
      expect(byId(theirs, unshown.id)).toMatchObject({ poll: { results: { voters: 1, counts: { [unshown.convex]: 1 } } } });
    }

    // Only those who may watch the replay.
    for (const who of [outsider, otherTeacher])
      expect((await who.client.get(`/api/media/recordings/${recording.id}/timeline`)).status).toBe(403);
    expect((await student.client.get(`/api/media/recordings/${crypto.randomUUID()}/timeline`)).status).toBe(404);
    expect((await student.client.get(`/api/media/recordings/not-an-id/timeline`)).status).toBe(400);
  });

  it('lets the teacher or an admin add, rename, move and delete chapters, serves them as a chapters track, and nobody else', async () => {
    const { teacher, student, admin, outsider } = people;
    expect((await timelineOf(student)).chapterTrackUrl).toBeNull();
    const joint = (await timelineOf(student)).gaps[0]!.atSeconds;

    // Refused: students and outsiders, bad positions and titles.
    expect((await send(student, 'POST', '', { title: 'Mine', atSeconds: 1 })).status).toBe(403);
    expect((await send(outsider, 'POST', '', { title: 'Mine', atSeconds: 1 })).status).toBe(403);
    for (const bad of [
      { title: 'Negative', atSeconds: -1 },
      { title: '', atSeconds: 1 },
      { title: 'x'.repeat(121), atSeconds: 1 },
      { title: 'Two\nlines', atSeconds: 1 },
      { title: 'No position' },
      { title: 'Extra', atSeconds: 1, colour: 'red' },
    ]) {
      const res = await send(teacher, 'POST', '', bad);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }

    const intro = await send(teacher, 'POST', '', { title: 'Intro & <welcome>', atSeconds: 0.5 });
    expect(intro.status).toBe(201);
    expect(intro.body.chapter).toMatchObject({ title: 'Intro & <welcome>', atSeconds: 0.5 });
    // Placed in the second run: kept at that moment of the class, shown at the same moment of the replay.
    const mirrors = await send(admin, 'POST', '', { title: 'Mirrors', atSeconds: joint + 1.25 });
    expect(mirrors.status).toBe(201);
    const [stored] = await server.db.select().from(classChapters).where(eq(classChapters.id, mirrors.body.chapter.id));
    expect(Math.abs(stored!.at.getTime() - at(31.25).getTime())).toBeLessThanOrEqual(1);
    const lenses = (await send(teacher, 'POST', '', { title: 'Lenses', atSeconds: 2 })).body.chapter;

    expect((await send(student, 'PATCH', `/${lenses.id}`, { title: 'Mine now' })).status).toBe(403);
    expect((await send(teacher, 'PATCH', `/${lenses.id}`, {})).status).toBe(400);
    const renamed = await send(teacher, 'PATCH', `/${lenses.id}`, { title: 'Lenses and prisms', atSeconds: 2.5 });
    expect(renamed.body.chapter).toEqual({ id: lenses.id, title: 'Lenses and prisms', atSeconds: 2.5 });
    expect((await send(teacher, 'PATCH', `/${crypto.randomUUID()}`, { title: 'Nowhere' })).status).toBe(404);

    const timeline = await timelineOf(student);
    expect(timeline.chapters.map((c) => c.title)).toEqual(['Intro & <welcome>', 'Lenses and prisms', 'Mirrors']);
    const [first, second, third] = timeline.chapters.map((c) => c.atSeconds) as [number, number, number];
    expect([first, second]).toEqual([0.5, 2.5]);
    expect(third).toBeCloseTo(joint + 1.25, 2);

    // The chapters track, each chapter to the next and the last to the end, with the student's signed link
    // (the title as text, not markup); an outsider's own link is refused.
    const track = await fetch(`${server.url}${timeline.chapterTrackUrl}`);
    expect(track.status).toBe(200);
    expect(track.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    const vtt = (s: number) => new Date(Math.round(s * 1000)).toISOString().slice(11, 23);
    expect(await track.text()).toBe(
      `WEBVTT\n\n${vtt(first)} --> ${vtt(second)}\nIntro &amp; &lt;welcome&gt;\n\n${vtt(second)} --> ${vtt(third)}\nLenses and prisms\n\n` +
        `${vtt(third)} --> ${vtt(timeline.durationSeconds)}\nMirrors\n`,
    );
    const outsiderToken = server.mediaAccess.sign({ kind: 'recording', id: recording.id }, outsider.user.id).token;
    expect((await fetch(`${server.url}/media/recordings/${recording.id}/chapters.vtt?token=${outsiderToken}`)).status).toBe(403);

    expect((await send(student, 'DELETE', `/${lenses.id}`)).status).toBe(403);
    expect((await send(teacher, 'DELETE', `/${lenses.id}`)).status).toBe(200);
    expect((await send(teacher, 'DELETE', `/${lenses.id}`)).status).toBe(404);
    expect((await timelineOf(student)).chapters.map((c) => c.title)).toEqual(['Intro & <welcome>', 'Mirrors']);

    // Deleting the replay takes its chapters.
    expect(
      (await teacher.client.request('DELETE', `/api/media/recordings/${recording.id}`, undefined, { origin: server.url })).status,
    ).toBe(200);
    expect(await server.db.select().from(classChapters).where(eq(classChapters.classId, classId))).toEqual([]);
  });
});
