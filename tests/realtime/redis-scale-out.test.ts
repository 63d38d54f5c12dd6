// Two server processes sharing PostgreSQL and Redis: a class's events cross from one to the other through
// the Socket.io Redis adapter (chat, role-specific Q&A views, and a removal that disconnects a socket held by
// the other process).
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, Question } from '../../server/contracts/interaction.ts';
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
