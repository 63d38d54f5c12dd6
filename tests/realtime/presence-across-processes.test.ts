// Presence over two server processes (PostgreSQL + Redis): a student whose socket lands on the other process
// than the teacher's must not make the teacher look away, nor have that process interrupt and end the class
// when its grace period runs out; a teacher who really leaves is still seen leaving from there.
import type { Socket } from 'socket.io-client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassStatusPush } from '../../server/contracts/live-class.ts';
import { liveClasses } from '../../server/db/schema.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import { connectAs, nextEvent, ok, record } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe('presence across two server processes', () => {
  let pair: ProcessPair;
  const sockets: Socket[] = [];
  let teacher: Person;
  let student: Person;
  let classId: string;

  beforeAll(async () => {
    // A short grace period and interruption limit, so a process that wrongly thinks the teacher is gone would
    // interrupt and end the class within this test; info logs to see the grace period run out.
    pair = await startProcessPair('presence', {
      LOG_LEVEL: 'info',
      LECTERN_TEACHER_GRACE_SECONDS: '1',
      LECTERN_INTERRUPTED_END_MINUTES: '0.02',
    });
    teacher = await registerUser(pair.a.url, 'teacher', 'Teacher on A');
    student = await registerUser(pair.b.url, 'student', 'Student on B');
    classId = await createLiveClass(pair.database.db, teacher, [student]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await pair?.stop();
  });

  it('shows the teacher on A as present to a student on B, whose process starts no grace period of its own', async () => {
    const teacherOnA = await connectAs(pair.a.url, teacher);
    sockets.push(teacherOnA);
    const teacherSees = record<ClassStatusPush>(teacherOnA, 'class:status');
    await ok(teacherOnA, 'class:join', { classId });
    await expect.poll(() => teacherSees.at(-1)?.teacher).toBe('present');

    const studentOnB = await connectAs(pair.b.url, student);
    sockets.push(studentOnB);
    const studentSees = record<ClassStatusPush>(studentOnB, 'class:status');
    await ok(studentOnB, 'class:join', { classId });
    await expect.poll(() => studentSees.length).toBeGreaterThan(0);
    expect(studentSees[0]).toMatchObject({ status: 'live', teacher: 'present' });

    // B found the teacher through A (its log says so) instead of starting a grace period of its own: nobody
    // was told the teacher was away, and the class is live.
    await pair.b.waitForLog((l) => l.msg.includes('connected through another server process') && l.classId === classId);
    expect([...teacherSees, ...studentSees].filter((s) => s.teacher !== 'present' || s.status !== 'live')).toEqual([]);
    const [row] = await pair.database.db.select().from(liveClasses).where(eq(liveClasses.id, classId));
    expect(row!.status).toBe('live');
  });

  it('tells the student on B when the teacher on A really leaves: away, interrupted, then ended', async () => {
    const [teacherOnA, studentOnB] = sockets as [Socket, Socket];
    const seen = record<ClassStatusPush>(studentOnB, 'class:status');
    const ended = nextEvent<ClassStatusPush>(studentOnB, 'class:status', (s) => s.status === 'ended', 20_000);
    teacherOnA.disconnect();
    await ended;
    expect(seen.map((s) => s.teacher)).toEqual(expect.arrayContaining(['away', 'interrupted']));
    expect(seen.findIndex((s) => s.teacher === 'away')).toBeLessThan(seen.findIndex((s) => s.teacher === 'interrupted'));
  });
});
