// The stage across two nodes (PostgreSQL + Redis): the teacher publishes on node A (the class's origin), the
// student's socket is on node B (an edge room). The teacher invites the student on B; the student accepts and
// publishes on B; what they publish is handed up the pipe to A, where the teacher is told of it and consumes it.
// Taken off the stage from A, the student's producer closes on B and the teacher is told it closed.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageUpdatePush } from '../../server/contracts/live-class.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import { joinAs, nextEvent, ok } from '../helpers/socket-client.ts';
import { createLiveClass } from '../realtime/class-fixture.ts';
import { FAKE_DTLS, goLiveWithSendTransport, produceFake } from './fixtures.ts';

let pair: ProcessPair;
let teacher: RegisteredUser;
let student: RegisteredUser;
let classId: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  pair = await startProcessPair('stage', { LOG_LEVEL: 'info' });
  teacher = await registerUser(pair.a.url, 'teacher', 'Teacher on A');
  student = await registerUser(pair.a.url, 'student', 'Student on B');
  classId = await createLiveClass(pair.database.db, teacher, [student], 'Stage across nodes');
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pair?.stop();
});

describe('the stage across nodes', () => {
  it('lets a student on an edge node publish on stage: the teacher on the origin receives it, and takes them off', async () => {
    const teacherOnA = await joinAs(pair.a.url, teacher, classId);
    sockets.push(teacherOnA);
    const { send } = await goLiveWithSendTransport(teacherOnA);
    await produceFake(teacherOnA, send.id, 'camera');

    const studentOnB = await joinAs(pair.b.url, student, classId);
    sockets.push(studentOnB);
    const rtp = await ok(studentOnB, 'sfu:getRouterRtpCapabilities', {});
    const joined = await ok(studentOnB, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
    expect(joined.sources.map((s: { source: string }) => s.source)).toEqual(['camera']);
    const fed = await pair.b.waitForLog((l) => l.msg === 'edge room fed from the origin node' && l.classId === classId);
    expect(fed.origin).toBe('node-1');

    // Invited from A though the student's socket is on B; the invitation reaches B's live class.
    const invited = nextEvent<StageUpdatePush>(studentOnB, 'stage:update', (s) => s.invited.includes(student.user.id));
    await ok(teacherOnA, 'stage:invite', { userId: student.user.id });
    await invited;
    expect(await ok(studentOnB, 'stage:answer', { accept: true })).toEqual({ onStage: true });

    // The student publishes on B; A's room gets it up the pipe, and the teacher is told of it there.
    const told = nextEvent<{ producerId: string; userId: string; source: string }>(
      teacherOnA,
      'sfu:newProducer',
      (p) => p.userId === student.user.id,
    );
    const studentSend = await ok(studentOnB, 'sfu:createTransport', { direction: 'send' });
    await ok(studentOnB, 'sfu:connectTransport', { transportId: studentSend.id, dtlsParameters: FAKE_DTLS });
    const { producerId } = await produceFake(studentOnB, studentSend.id, 'mic', 3000);
    const newProducer = await told;
    expect(newProducer).toMatchObject({ producerId, source: 'mic' });
    await pair.a.waitForLog((l) => l.msg === 'a source published on an edge node came up' && l.classId === classId);
    const recv = await ok(teacherOnA, 'sfu:createTransport', { direction: 'recv' });
    expect(recv.id).toBeTruthy();
    const consumer = await ok(teacherOnA, 'sfu:consume', { producerId });
    expect(consumer).toMatchObject({ producerId, kind: 'audio', source: 'mic', userId: student.user.id });

    // Taken off the stage on A: B closes what the student publishes, and A's copy goes with it.
    const closed = nextEvent<{ producerId: string }>(teacherOnA, 'sfu:producerClosed', (p) => p.producerId === producerId);
    await ok(teacherOnA, 'stage:remove', { userId: student.user.id });
    await closed;
    const again = await ok(studentOnB, 'sfu:createTransport', { direction: 'send' }).catch((err: Error) => err);
    expect(again).toBeInstanceOf(Error);
  }, 60_000);
});
