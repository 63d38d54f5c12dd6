// Two server processes sharing PostgreSQL and Redis, the teacher on one and students on both: raised hands and
// polls (ballots, live results for the staff, results shown to everyone) agree on both sides.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Poll, PollResults, RaisedHand } from '../../server/contracts/interaction.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { joinAs, nextEvent, ok } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe('class state across two server processes (Redis adapter)', () => {
  let pair: ProcessPair;
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: Socket[] = [];
  let teacher: Person;
  let alice: Person;
  let bob: Person;
  let classId: string;

  beforeAll(async () => {
    pair = await startProcessPair('redis-state');
    ({ a, b } = pair);
    teacher = await registerUser(a.url, 'teacher', 'Teacher on A');
    alice = await registerUser(a.url, 'student', 'Alice on A');
    bob = await registerUser(b.url, 'student', 'Bob on B');
    classId = await createLiveClass(pair.database.db, teacher, [alice, bob], 'Across processes');
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await pair?.stop();
  });

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
  });
});
