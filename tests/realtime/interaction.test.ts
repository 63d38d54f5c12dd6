// Class interaction over real Socket.io connections against the real server and database: chat (history,
// pages, deletion, mute, flood control), Q&A (ordering, one upvote, anonymity), polls and quizzes, raised
// hands, reactions, removal, permissions, bad payloads, and the CSV export.
import type { Socket } from 'socket.io-client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ChatMessage, InteractionSnapshot, Poll, PollResults, Question, RaisedHand } from '../../server/contracts/interaction.ts';
import { pollVotes, questionVotes } from '../../server/db/schema.ts';
import { dbKinds } from '../helpers/databases.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { call, connectAs, errorOf, joinAs, nextChatMessage, nextEvent, ok, record } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe.each(await dbKinds())('class interaction over Socket.io (%s)', (db) => {
  let server: TestServer;
  let teacher: Person;
  let students: Person[];
  let classId: string;
  let otherClassId: string;
  let t: Socket; // the teacher's socket
  let s: Socket[]; // one socket per student, all joined
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startTestServer({ db });
    teacher = await registerUser(server.url, 'teacher', 'Ada Teacher');
    students = [];
    for (let i = 0; i < 7; i++) students.push(await registerUser(server.url, 'student', `Student ${i}`));
    const otherTeacher = await registerUser(server.url, 'teacher', 'Other Teacher');
    classId = await createLiveClass(server.db, teacher, students);
    otherClassId = await createLiveClass(server.db, otherTeacher, [students[0]!], 'Another class');
    t = await joinAs(server.url, teacher, classId);
    s = [];
    for (const student of students) s.push(await joinAs(server.url, student, classId));
    sockets.push(t, ...s);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await server?.stop();
  });

  it('sends the latest chat page on join and older pages on request, oldest first', async () => {
    const author = { id: teacher.user.id, displayName: 'Ada Teacher', role: 'teacher' as const };
    for (let i = 0; i < 60; i++) await server.interaction.chat.post(classId, author, `history ${i}`);
    const late = await joinAs(server.url, students[6]!, classId);
    sockets.push(late);
    const snapshot = await ok<InteractionSnapshot>(late, 'interaction:sync');
    expect(snapshot.chat.messages.map((m) => m.body)).toEqual(Array.from({ length: 50 }, (_, i) => `history ${i + 10}`));
    expect(snapshot.chat.hasMore).toBe(true);
    expect(snapshot.chat.messages[0]!.author).toEqual(author);

    const older = await ok(late, 'chat:history', { before: snapshot.chat.messages[0]!.id });
    expect(older.messages.map((m: ChatMessage) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `history ${i}`));
    expect(older.hasMore).toBe(false);
    const small = await ok(late, 'chat:history', { before: snapshot.chat.messages[0]!.id, limit: 3 });
    expect(small.messages.map((m: ChatMessage) => m.body)).toEqual(['history 7', 'history 8', 'history 9']);
    expect(small.hasMore).toBe(true);
  });

  it('broadcasts a message to the class as plain text, and the teacher deletes it for everyone', async () => {
    const body = '<img src=x onerror=alert(1)> see https://example.org/?a=1&b=2';
    const seenByTeacher = nextChatMessage(t, (m) => m.body === body);
    const seenByOther = nextChatMessage(s[1]!, (m) => m.body === body);
    const sent = await ok<ChatMessage>(s[0]!, 'chat:send', { body: `  ${body}  ` });
    expect(sent.body).toBe(body);
    expect(sent.author).toEqual({ id: students[0]!.user.id, displayName: 'Student 0', role: 'student' });
    expect((await seenByTeacher).id).toBe(sent.id);
    expect((await seenByOther).id).toBe(sent.id);

    expect((await errorOf(s[1]!, 'chat:delete', { messageId: sent.id })).code).toBe('forbidden');
    const deletedForStudent = nextEvent(s[1]!, 'chat:deleted', (d: { messageId: string }) => d.messageId === sent.id);
    expect(await ok(t, 'chat:delete', { messageId: sent.id })).toEqual({ messageId: sent.id, deleted: true });
    await deletedForStudent;
    const snapshot = await ok<InteractionSnapshot>(s[1]!, 'interaction:sync');
    const tombstone = snapshot.chat.messages.find((m) => m.id === sent.id)!;
    expect(tombstone).toMatchObject({ deleted: true, body: '' });
  });

  it('sends a lone message alone, and a quick series once each and in order (batched when the chat is busy)', async () => {
    // A class of its own whose chat nobody has used yet: quiet, whatever the other tests sent.
    const quietClass = await createLiveClass(server.db, teacher, [students[4]!, students[5]!], 'Quiet class');
    const qt = await joinAs(server.url, teacher, quietClass);
    const [reader, other] = [await joinAs(server.url, students[4]!, quietClass), await joinAs(server.url, students[5]!, quietClass)];
    sockets.push(qt, reader, other);
    const batches = record<ChatMessage[]>(reader, 'chat:messages');
    const lone = await ok<ChatMessage>(qt, 'chat:send', { body: 'a lone message' });
    const alone = await nextChatMessage(other, (m) => m.id === lone.id);
    expect(alone.body).toBe('a lone message');
    await vi.waitFor(() => expect(batches.length).toBe(1));
    expect(batches[0]!.map((m) => m.id)).toEqual([lone.id]);

    const series = ['one', 'two', 'three', 'four'];
    const sent: ChatMessage[] = [];
    for (const body of series) sent.push(await ok<ChatMessage>(qt, 'chat:send', { body })); // each ack carries its message at once
    expect(sent.map((m) => m.body)).toEqual(series);
    await vi.waitFor(() => expect(batches.flat().length).toBe(1 + series.length));
    expect(batches.flat().map((m) => m.id)).toEqual([lone.id, ...sent.map((m) => m.id)]);
  });

  it('mutes a student for the class (chat and questions refused) and unmutes them', async () => {
    const muted = s[2]!;
    const notice = nextEvent(muted, 'moderation:muted');
    await ok(t, 'moderation:mute', { userId: students[2]!.user.id, muted: true });
    expect(await notice).toEqual({ userId: students[2]!.user.id, muted: true });
    expect(await errorOf(muted, 'chat:send', { body: 'hello?' })).toEqual({
      code: 'muted',
      message: 'The teacher muted you in this class',
    });
    expect((await errorOf(muted, 'question:ask', { body: 'may I?' })).code).toBe('muted');
    expect((await ok<InteractionSnapshot>(muted, 'interaction:sync')).me.muted).toBe(true);
    // Muting the teacher is not a thing.
    expect((await errorOf(t, 'moderation:mute', { userId: teacher.user.id, muted: true })).code).toBe('forbidden');

    await ok(t, 'moderation:mute', { userId: students[2]!.user.id, muted: false });
    expect((await ok<ChatMessage>(muted, 'chat:send', { body: 'thanks' })).body).toBe('thanks');
  });

  it('slows down a student who floods the chat, with a clear message', async () => {
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await call(s[3]!, 'chat:send', { body: `flood ${i}` }));
    const accepted = results.filter((r) => r.ok).length;
    expect(accepted).toBeGreaterThanOrEqual(5);
    expect(accepted).toBeLessThan(8);
    const refused = results.find((r) => !r.ok);
    expect(refused).toMatchObject({ ok: false, error: { code: 'slow_down' } });
    expect(!refused!.ok && refused!.error.message).toMatch(/^Slow down: .* Try again in \d+ s\.$/);
  });

  it('sorts questions by votes then time, counts one upvote per person, and hides anonymous askers from students only', async () => {
    const q1 = await ok<Question>(s[0]!, 'question:ask', { body: 'First question' });
    const teacherSeesAnonymous = nextEvent<Question>(t, 'question:updated', (q) => q.body === 'Second, anonymous');
    const studentSeesAnonymous = nextEvent<Question>(s[1]!, 'question:updated', (q) => q.body === 'Second, anonymous');
    const q2 = await ok<Question>(s[4]!, 'question:ask', { body: 'Second, anonymous', anonymous: true });
    expect(q2.author?.id).toBe(students[4]!.user.id); // the asker sees themselves
    expect((await teacherSeesAnonymous).author).toEqual({ id: students[4]!.user.id, displayName: 'Student 4', role: 'student' });
    expect((await studentSeesAnonymous).author).toBeNull();
    const q3 = await ok<Question>(s[1]!, 'question:ask', { body: 'Third question' });

    await ok(s[0]!, 'question:vote', { questionId: q3.id });
    await ok(s[1]!, 'question:vote', { questionId: q2.id });
    await ok(s[5]!, 'question:vote', { questionId: q2.id });
    expect(await errorOf(s[5]!, 'question:vote', { questionId: q2.id })).toEqual({
      code: 'already_voted',
      message: 'You already upvoted this question',
    });
    const votes = await server.db.select().from(questionVotes).where(eq(questionVotes.questionId, q2.id));
    expect(votes).toHaveLength(2);

    const forStudent = await ok<InteractionSnapshot>(s[5]!, 'interaction:sync');
    const ours = (list: Question[]) => list.filter((q) => [q1.id, q2.id, q3.id].includes(q.id));
    expect(ours(forStudent.questions).map((q) => [q.body, q.votes])).toEqual([
      ['Second, anonymous', 2],
      ['Third question', 1],
      ['First question', 0],
    ]);
    expect(ours(forStudent.questions)[0]!.author).toBeNull();
    expect(forStudent.me.votedQuestionIds.sort()).toEqual([q2.id]);
    const forAsker = await ok<InteractionSnapshot>(s[4]!, 'interaction:sync');
    expect(forAsker.me.askedQuestionIds).toContain(q2.id);
    const forTeacher = await ok<InteractionSnapshot>(t, 'interaction:sync');
    expect(ours(forTeacher.questions)[0]!.author?.id).toBe(students[4]!.user.id);

    // Unvoting gives the vote back; a tie on votes falls back to time.
    await ok(s[0]!, 'question:unvote', { questionId: q3.id });
    const again = ours((await ok<InteractionSnapshot>(s[0]!, 'interaction:sync')).questions);
    expect(again.map((q) => q.body)).toEqual(['Second, anonymous', 'First question', 'Third question']);

    // The teacher pins (one at a time), answers and dismisses; students may not.
    for (const event of ['question:answer', 'question:dismiss', 'question:reopen']) {
      expect((await errorOf(s[0]!, event, { questionId: q1.id })).code).toBe('forbidden');
    }
    expect((await errorOf(s[0]!, 'question:pin', { questionId: q1.id, pinned: true })).code).toBe('forbidden');
    await ok(t, 'question:pin', { questionId: q1.id, pinned: true });
    const unpinned = nextEvent<Question>(s[0]!, 'question:updated', (q) => q.id === q1.id && !q.pinned);
    expect((await ok<Question>(t, 'question:pin', { questionId: q3.id, pinned: true })).pinned).toBe(true);
    await unpinned;
    expect((await ok<Question>(t, 'question:answer', { questionId: q1.id })).status).toBe('answered');
    const removedForStudents = nextEvent(s[0]!, 'question:removed', (r: { questionId: string }) => r.questionId === q3.id);
    await ok(t, 'question:dismiss', { questionId: q3.id });
    await removedForStudents;
    expect((await ok<InteractionSnapshot>(s[0]!, 'interaction:sync')).questions.map((q) => q.id)).not.toContain(q3.id);
    expect((await ok<InteractionSnapshot>(t, 'interaction:sync')).questions.find((q) => q.id === q3.id)).toMatchObject({
      status: 'dismissed',
      pinned: false,
    });
  });

  it('counts one ballot per student, allows a change only when the poll says so, and shows results when the teacher chooses', async () => {
    const created = nextEvent<Poll>(s[0]!, 'poll:updated', (p) => p.question === 'Tabs or spaces?');
    const poll = await ok<Poll>(t, 'poll:create', { question: 'Tabs or spaces?', options: [{ label: 'Tabs' }, { label: 'Spaces' }] });
    expect(poll.results).toEqual({ pollId: poll.id, counts: { [poll.options[0]!.id]: 0, [poll.options[1]!.id]: 0 }, voters: 0 });
    expect((await created).results).toBeNull(); // students do not see results yet
    const [tabs, spaces] = poll.options.map((o) => o.id) as [string, string];

    const teacherResults = record<PollResults>(t, 'poll:results');
    const studentResults = record<PollResults>(s[1]!, 'poll:results');
    await ok(s[0]!, 'poll:vote', { pollId: poll.id, optionIds: [tabs] });
    expect(await errorOf(s[0]!, 'poll:vote', { pollId: poll.id, optionIds: [spaces] })).toEqual({
      code: 'already_voted',
      message: 'You already voted in this poll',
    });
    expect((await errorOf(s[1]!, 'poll:vote', { pollId: poll.id, optionIds: [tabs, spaces] })).code).toBe('invalid_input');
    await ok(s[1]!, 'poll:vote', { pollId: poll.id, optionIds: [spaces] });
    await ok(s[4]!, 'poll:vote', { pollId: poll.id, optionIds: [spaces] });
    expect((await errorOf(t, 'poll:vote', { pollId: poll.id, optionIds: [tabs] })).code).toBe('forbidden');
    await expect.poll(() => teacherResults.at(-1)?.voters).toBe(3);
    expect(teacherResults.at(-1)!.counts).toEqual({ [tabs]: 1, [spaces]: 2 });
    // A chat message sent after the votes reaches the student: results sent to them would have come before it.
    const marker = nextChatMessage(s[1]!, (m) => m.body === 'after the votes');
    await ok(t, 'chat:send', { body: 'after the votes' });
    await marker;
    expect(studentResults).toEqual([]);
    const ballots = await server.db
      .select()
      .from(pollVotes)
      .where(and(eq(pollVotes.pollId, poll.id), eq(pollVotes.userId, students[0]!.user.id)));
    expect(ballots.map((b) => b.optionIds)).toEqual([[tabs]]);

    const shown = nextEvent<Poll>(s[1]!, 'poll:updated', (p) => p.id === poll.id && p.showResults);
    await ok(t, 'poll:showResults', { pollId: poll.id, show: true });
    expect((await shown).results).toEqual({ pollId: poll.id, counts: { [tabs]: 1, [spaces]: 2 }, voters: 3 });

    // A poll that allows changes: the ballot moves, the count of voters stays.
    const multi = await ok<Poll>(t, 'poll:create', {
      question: 'Which do you use?',
      kind: 'multiple',
      allowChange: true,
      showResults: true,
      options: [{ label: 'Vim' }, { label: 'Emacs' }, { label: 'VS Code' }],
    });
    const [vim, emacs, code] = multi.options.map((o) => o.id) as [string, string, string];
    await ok(s[0]!, 'poll:vote', { pollId: multi.id, optionIds: [vim, emacs] });
    const changedResults = nextEvent<PollResults>(s[1]!, 'poll:results', (r) => r.pollId === multi.id && r.counts[code] === 1);
    expect(await ok(s[0]!, 'poll:vote', { pollId: multi.id, optionIds: [code] })).toEqual({
      pollId: multi.id,
      optionIds: [code],
      changed: true,
    });
    expect(await changedResults).toEqual({ pollId: multi.id, counts: { [vim]: 0, [emacs]: 0, [code]: 1 }, voters: 1 });
    expect((await errorOf(s[0]!, 'poll:vote', { pollId: multi.id, optionIds: [code, code] })).code).toBe('invalid_input');
    expect((await ok<InteractionSnapshot>(s[0]!, 'interaction:sync')).me.ballots[multi.id]).toEqual([code]);
  });

  it('reveals the correct answer of a quiz when it closes, and refuses ballots after', async () => {
    const quiz = await ok<Poll>(t, 'poll:create', {
      question: '2 + 2 = ?',
      quiz: true,
      options: [{ label: '3' }, { label: '4', correct: true }, { label: '5' }],
    });
    expect(quiz.options.map((o) => o.correct)).toEqual([false, true, false]); // the teacher knows
    const student = await ok<InteractionSnapshot>(s[0]!, 'interaction:sync');
    expect(student.polls.find((p) => p.id === quiz.id)!.options.map((o) => o.correct)).toEqual([null, null, null]);
    await ok(s[0]!, 'poll:vote', { pollId: quiz.id, optionIds: [quiz.options[1]!.id] });
    await ok(s[1]!, 'poll:vote', { pollId: quiz.id, optionIds: [quiz.options[0]!.id] });

    expect((await errorOf(s[0]!, 'poll:close', { pollId: quiz.id })).code).toBe('forbidden');
    const revealed = nextEvent<Poll>(s[1]!, 'poll:updated', (p) => p.id === quiz.id && p.status === 'closed');
    await ok(t, 'poll:close', { pollId: quiz.id });
    const closed = await revealed;
    expect(closed.options.map((o) => o.correct)).toEqual([false, true, false]);
    expect(closed.results).toBeNull(); // results stay hidden until the teacher shows them
    expect((await errorOf(s[2]!, 'poll:vote', { pollId: quiz.id, optionIds: [quiz.options[1]!.id] })).code).toBe('poll_closed');
    expect(
      (await errorOf(t, 'poll:create', { question: 'Bad quiz', quiz: true, options: [{ label: 'a' }, { label: 'b' }] })).message,
    ).toContain('Mark the correct answer');
  });

  it('keeps raised hands in order; the teacher lowers one or all; students may not lower others', async () => {
    await ok(s[4]!, 'hand:raise');
    await ok(s[1]!, 'hand:raise');
    const third = nextEvent<{ hands: RaisedHand[] }>(t, 'hands:changed', (e) => e.hands.length === 3);
    await ok(s[5]!, 'hand:raise');
    await ok(s[4]!, 'hand:raise'); // raising again keeps the place
    expect((await third).hands.map((h) => h.displayName)).toEqual(['Student 4', 'Student 1', 'Student 5']);
    expect((await ok<InteractionSnapshot>(t, 'interaction:sync')).hands.map((h) => h.userId)).toEqual([
      students[4]!.user.id,
      students[1]!.user.id,
      students[5]!.user.id,
    ]);
    expect((await errorOf(s[4]!, 'hand:lower', { userId: students[1]!.user.id })).code).toBe('forbidden');
    expect((await errorOf(s[4]!, 'hand:lowerAll')).code).toBe('forbidden');
    expect((await errorOf(t, 'hand:raise')).code).toBe('forbidden');

    const lowered = await ok(t, 'hand:lower', { userId: students[1]!.user.id });
    expect(lowered.hands.map((h: RaisedHand) => h.displayName)).toEqual(['Student 4', 'Student 5']);
    expect((await ok(s[5]!, 'hand:lower')).hands.map((h: RaisedHand) => h.displayName)).toEqual(['Student 4']);
    const cleared = nextEvent<{ hands: RaisedHand[] }>(s[4]!, 'hands:changed', (e) => e.hands.length === 0);
    expect((await ok(t, 'hand:lowerAll')).lowered).toBe(1);
    await cleared;
  });

  it("shows reactions on the teacher's screen only, and refuses unknown ones", async () => {
    const studentReactions = record(s[1]!, 'reaction:shown');
    const shown = nextEvent(t, 'reaction:shown');
    await ok(s[0]!, 'reaction:send', { reaction: 'clap' });
    expect(await shown).toMatchObject({ reaction: 'clap', from: 'Student 0' });
    // A chat message sent after the reaction reaches the student: the reaction would have arrived before it.
    const marker = nextChatMessage(s[1]!, (m) => m.body === 'after the reaction');
    await ok(t, 'chat:send', { body: 'after the reaction' });
    await marker;
    expect(studentReactions).toEqual([]);
    expect((await errorOf(s[0]!, 'reaction:send', { reaction: 'poop' })).code).toBe('invalid_input');
  });

  it('refuses teacher actions from students', async () => {
    const someone = students[0]!.user.id;
    const attempts: [string, unknown][] = [
      ['poll:create', { question: 'Mine?', options: [{ label: 'a' }, { label: 'b' }] }],
      ['moderation:mute', { userId: someone, muted: true }],
      ['moderation:remove', { userId: someone }],
      ['hand:lowerAll', {}],
    ];
    for (const [event, payload] of attempts) {
      const error = await errorOf(s[1]!, event, payload);
      expect(error.code, event).toBe('forbidden');
      expect(error.message, event).toMatch(/^Only the teacher can /);
    }
  });

  it('answers bad payloads with errors (oversized, wrong types, unknown ids, ids of another class) and stays healthy', async () => {
    const student = s[6]!;
    const bad: [string, unknown, string][] = [
      ['chat:send', { body: 'x'.repeat(1001) }, 'invalid_input'],
      ['chat:send', { body: '   ' }, 'invalid_input'],
      ['chat:send', { body: 42 }, 'invalid_input'],
      ['chat:send', 'just a string', 'invalid_input'],
      ['chat:send', { body: 'hi', extra: true }, 'invalid_input'],
      ['chat:history', { before: 'not-a-uuid' }, 'invalid_input'],
      ['chat:history', { before: crypto.randomUUID() }, 'not_found'],
      ['chat:history', { before: crypto.randomUUID(), limit: 10_000 }, 'invalid_input'],
      ['question:ask', { body: 'q'.repeat(501) }, 'invalid_input'],
      ['question:vote', { questionId: crypto.randomUUID() }, 'not_found'],
      ['question:vote', { questionId: null }, 'invalid_input'],
      ['poll:vote', { pollId: crypto.randomUUID(), optionIds: [crypto.randomUUID()] }, 'not_found'],
      ['poll:vote', { pollId: crypto.randomUUID(), optionIds: Array.from({ length: 11 }, () => crypto.randomUUID()) }, 'invalid_input'],
      ['poll:vote', { pollId: crypto.randomUUID(), optionIds: [] }, 'invalid_input'],
      ['reaction:send', { reaction: ['clap'] }, 'invalid_input'],
      ['hand:raise', { now: true }, 'invalid_input'],
    ];
    for (const [event, payload, code] of bad)
      expect((await errorOf(student, event, payload)).code, `${event} ${JSON.stringify(payload).slice(0, 60)}`).toBe(code);
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ label: `o${i}` }));
    expect((await errorOf(t, 'poll:create', { question: 'Too many', options: tooMany })).code).toBe('invalid_input');
    expect((await errorOf(t, 'poll:create', { question: 'Too few', options: [{ label: 'only' }] })).code).toBe('invalid_input');

    // Ids that exist, but in another class: the other class's chat, question and poll are out of reach.
    const otherTeacher = server.interaction;
    const [foreign] = await server.db.query.liveClasses.findMany({ where: (c, { eq }) => eq(c.id, otherClassId) });
    const foreignMessage = await otherTeacher.chat.post(
      otherClassId,
      { id: foreign!.teacherId, displayName: 'Other Teacher', role: 'teacher' },
      'secret',
    );
    const foreignQuestion = await otherTeacher.questions.ask(otherClassId, students[0]!.user.id, 'Elsewhere?', false);
    const foreignPoll = await otherTeacher.polls.create(otherClassId, foreign!.teacherId, {
      question: 'Elsewhere',
      kind: 'single',
      quiz: false,
      allowChange: false,
      showResults: true,
      options: [
        { label: 'a', correct: false },
        { label: 'b', correct: false },
      ],
    });
    expect((await errorOf(t, 'chat:delete', { messageId: foreignMessage.id })).code).toBe('not_found');
    expect((await errorOf(student, 'chat:history', { before: foreignMessage.id })).code).toBe('not_found');
    expect((await errorOf(student, 'question:vote', { questionId: foreignQuestion.id })).code).toBe('not_found');
    expect((await errorOf(t, 'question:pin', { questionId: foreignQuestion.id, pinned: true })).code).toBe('not_found');
    expect((await errorOf(student, 'poll:vote', { pollId: foreignPoll.poll.id, optionIds: [foreignPoll.options[0]!.id] })).code).toBe(
      'not_found',
    );
    expect((await errorOf(t, 'poll:close', { pollId: foreignPoll.poll.id })).code).toBe('not_found');
    // An option of another poll in a poll of this class.
    const local = await ok<Poll>(t, 'poll:create', { question: 'Local', options: [{ label: 'x' }, { label: 'y' }] });
    expect((await errorOf(student, 'poll:vote', { pollId: local.id, optionIds: [foreignPoll.options[0]!.id] })).code).toBe('not_found');

    // A payload larger than the socket accepts closes that socket, and only that one.
    const reckless = await joinAs(server.url, students[5]!, classId);
    const dropped = new Promise((resolve) => reckless.once('disconnect', resolve));
    reckless.emit('chat:send', { body: 'y'.repeat(300 * 1024) });
    await dropped;

    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect((await ok<ChatMessage>(student, 'chat:send', { body: 'still here' })).body).toBe('still here');
  });

  it('removes a student: their sockets leave the class and they cannot join it again', async () => {
    const removed = students[3]!;
    const second = await joinAs(server.url, removed, classId); // a second tab
    sockets.push(second);
    const notices = [nextEvent(s[3]!, 'moderation:removed'), nextEvent(second, 'moderation:removed')];
    const disconnected = [s[3]!, second].map((socket) => new Promise<string>((resolve) => socket.once('disconnect', resolve)));
    const result = await ok(t, 'moderation:remove', { userId: removed.user.id });
    expect(result).toEqual({ userId: removed.user.id, classId, disconnected: 2 });
    expect(await Promise.all(notices)).toEqual([
      { userId: removed.user.id, classId },
      { userId: removed.user.id, classId },
    ]);
    expect(await Promise.all(disconnected)).toEqual(['io server disconnect', 'io server disconnect']);

    const retry = await connectAs(server.url, removed);
    sockets.push(retry);
    expect(await errorOf(retry, 'class:join', { classId })).toEqual({
      code: 'removed',
      message: 'The teacher removed you from this class',
    });
    // Not in the class, so no chat handler answers: the request times out rather than posting.
    await expect(retry.timeout(500).emitWithAck('chat:send', { body: 'let me in' })).rejects.toThrow();
  });

  it('exports poll results as CSV to the teacher only, with formulas defused', async () => {
    await ok(t, 'poll:create', { question: '=HYPERLINK("http://evil")', options: [{ label: 'Yes, "quoted"' }, { label: '@no' }] });
    const res = await teacher.client.get(`/api/classes/${classId}/polls.csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="polls-/);
    const lines = (res.body as string).trim().split('\r\n');
    expect(lines[0]).toBe('poll_id,poll,kind,quiz,status,created_at,option_position,option,correct,votes,voters,percent');
    expect(lines.some((l) => l.includes(',Tabs or spaces?,single,no,open,') && l.endsWith(',Spaces,,2,3,66.7'))).toBe(true);
    expect(lines.some((l) => l.includes(',2 + 2 = ?,single,yes,closed,') && l.endsWith(',4,yes,1,2,50'))).toBe(true);
    expect(lines.some((l) => l.includes(`,"'=HYPERLINK(""http://evil"")",`) && l.includes(`,"Yes, ""quoted""",`))).toBe(true);
    expect(lines.some((l) => l.includes(",'@no,"))).toBe(true);

    expect((await students[0]!.client.get(`/api/classes/${classId}/polls.csv`)).status).toBe(403);
    expect((await students[0]!.client.get(`/api/classes/not-an-id/polls.csv`)).status).toBe(400);
    const outsider = await registerUser(server.url, 'student');
    expect((await outsider.client.get(`/api/classes/${classId}/polls.csv`)).status).toBe(404);
  });
});
