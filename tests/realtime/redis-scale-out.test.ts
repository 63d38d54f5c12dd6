// Two server processes sharing PostgreSQL and Redis: a class's events cross from one to the other through
// the Socket.io Redis adapter (raised hands and polls agreeing on both sides, chat, role-specific Q&A views, and a
// removal that disconnects a socket held by the other process).
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, Poll, PollResults, Question, RaisedHand } from '../../server/contracts/interaction.ts';
import { registerUser } from '../helpers/http-client.ts';
import { REDIS_PREFIX, redisChannels } from '../helpers/redis.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { joinAs, nextChatMessage, nextEvent, ok } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe('two server processes with the Redis adapter', () => {
  let pair: ProcessPair;
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: Socket[] = [];
  let teacher: Person;
  let alice: Person;
  let bob: Person;
  let classId: string;

  beforeAll(async () => {
    pair = await startProcessPair('scale');
    ({ a, b } = pair);
    teacher = await registerUser(a.url, 'teacher', 'Teacher on B');
    alice = await registerUser(a.url, 'student', 'Alice on A');
    bob = await registerUser(b.url, 'student', 'Bob on B');
    classId = await createLiveClass(pair.database.db, teacher, [alice, bob]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await pair?.stop();
  });

  // Hands and polls first: the last test removes Bob from the class.
  it('keeps one queue of raised hands, raised on either process and lowered from the other', async () => {
    const [teacherOnA, aliceOnA, bobOnB] = await Promise.all([
      joinAs(a.url, teacher, classId),
      joinAs(a.url, alice, classId),
      joinAs(b.url, bob, classId),
    ]);
    sockets.push(teacherOnA, aliceOnA, bobOnB);
    const teacherSeesBob = nextEvent<{ hands: RaisedHand[] }>(teacherOnA, 'hands:changed', (e) => e.hands.length === 1);
    await ok(bobOnB, 'hand:raise');
    expect((await teacherSeesBob).hands.map((h) => h.displayName)).toEqual(['Bob on B']);
    const bobSeesBoth = nextEvent<{ hands: RaisedHand[] }>(bobOnB, 'hands:changed', (e) => e.hands.length === 2);
    await ok(aliceOnA, 'hand:raise');
    expect((await bobSeesBoth).hands.map((h) => h.displayName)).toEqual(['Bob on B', 'Alice on A']); // first raised, first in line
    const bobSeesLowered = nextEvent<{ hands: RaisedHand[] }>(bobOnB, 'hands:changed', (e) => e.hands.length === 1);
    await ok(teacherOnA, 'hand:lower', { userId: bob.user.id });
    expect((await bobSeesLowered).hands.map((h) => h.displayName)).toEqual(['Alice on A']);
    const aliceSeesNone = nextEvent<{ hands: RaisedHand[] }>(aliceOnA, 'hands:changed', (e) => e.hands.length === 0);
    await ok(teacherOnA, 'hand:lowerAll');
    await aliceSeesNone;
  });

  it('runs a poll created on one process and voted on both, with live results for the teacher and then for all', async () => {
    const [teacherOnA, aliceOnA, bobOnB] = sockets as [Socket, Socket, Socket];
    const bobSeesPoll = nextEvent<Poll>(bobOnB, 'poll:updated');
    const poll = await ok<Poll>(teacherOnA, 'poll:create', {
      question: 'Which process?',
      options: [{ label: 'A' }, { label: 'B' }],
    });
    expect((await bobSeesPoll).id).toBe(poll.id);
    const [optionA, optionB] = poll.options as [Poll['options'][number], Poll['options'][number]];

    // Bob votes on B: the teacher on A gets the live results, students do not (yet).
    const liveResults = nextEvent<PollResults>(teacherOnA, 'poll:results', (r) => r.pollId === poll.id && r.voters === 1);
    await ok(bobOnB, 'poll:vote', { pollId: poll.id, optionIds: [optionB.id] });
    expect((await liveResults).counts).toMatchObject({ [optionB.id]: 1 });

    // Shown to everyone: Alice's vote on A reaches Bob on B.
    await ok(teacherOnA, 'poll:showResults', { pollId: poll.id, show: true });
    const bobSeesTwo = nextEvent<PollResults>(bobOnB, 'poll:results', (r) => r.pollId === poll.id && r.voters === 2);
    await ok(aliceOnA, 'poll:vote', { pollId: poll.id, optionIds: [optionA.id] });
    expect((await bobSeesTwo).counts).toMatchObject({ [optionA.id]: 1, [optionB.id]: 1 });

    // Closed on A: refused on B.
    const bobSeesClosed = nextEvent<Poll>(bobOnB, 'poll:updated', (p) => p.id === poll.id && p.status === 'closed');
    await ok(teacherOnA, 'poll:close', { pollId: poll.id });
    await bobSeesClosed;
    // Leaves the next test its own connections to count.
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  it('carries chat, Q&A and a removal from one process to the clients of the other', async () => {
    expect(a.url).not.toBe(b.url);
    // Both processes talk on this run's own channels, apart from any other run or deployment on this Redis.
    expect(await redisChannels(`${REDIS_PREFIX}*`)).not.toEqual([]);
    const onA = await joinAs(a.url, alice, classId);
    const bobOnB = await joinAs(b.url, bob, classId);
    const teacherOnB = await joinAs(b.url, teacher, classId);
    sockets.push(onA, bobOnB, teacherOnB);

    // Chat sent through A reaches both clients of B.
    const toBob = nextChatMessage(bobOnB, (m) => m.body === 'hello from A');
    const toTeacher = nextChatMessage(teacherOnB, (m) => m.body === 'hello from A');
    const sent = await ok<ChatMessage>(onA, 'chat:send', { body: 'hello from A' });
    expect((await toBob).id).toBe(sent.id);
    expect((await toTeacher).author.displayName).toBe('Alice on A');
    // And back: B to A.
    const toAlice = nextChatMessage(onA, (m) => m.body === 'hello from B');
    await ok(bobOnB, 'chat:send', { body: 'hello from B' });
    expect((await toAlice).author.displayName).toBe('Bob on B');

    // An anonymous question asked on A: the teacher on B sees who asked, Bob on B does not.
    const teacherView = nextEvent<Question>(teacherOnB, 'question:updated');
    const bobView = nextEvent<Question>(bobOnB, 'question:updated');
    await ok(onA, 'question:ask', { body: 'Is this anonymous?', anonymous: true });
    expect((await teacherView).author?.displayName).toBe('Alice on A');
    expect((await bobView).author).toBeNull();

    // The teacher (a socket on A this time) removes Bob, whose socket is held by B.
    const teacherOnA = await joinAs(a.url, teacher, classId);
    sockets.push(teacherOnA);
    const bobGone = new Promise<string>((resolve) => bobOnB.once('disconnect', resolve));
    const result = await ok(teacherOnA, 'moderation:remove', { userId: bob.user.id });
    expect(result.disconnected).toBe(1);
    expect(await bobGone).toBe('io server disconnect');
    const bobAgain = await joinAs(a.url, bob, classId).catch((err: Error) => err);
    expect(bobAgain).toBeInstanceOf(Error);
    expect(String(bobAgain)).toContain('removed');

    for (const p of [a, b]) expect((await fetch(`${p.url}/health`)).status).toBe(200);
  });
});
