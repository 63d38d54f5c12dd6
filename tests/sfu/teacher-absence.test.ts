// A teacher who never comes back: after the grace period the class shows as interrupted, and after the
// (here tiny) LECTERN_INTERRUPTED_END_MINUTES it ends by itself, like an ended class: status and ended_at in
// the database, attendance closed, the SFU room closed (which finalises the recording). A teacher who comes
// back in time keeps the class going.
import { eq } from 'drizzle-orm';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attendance, liveClasses } from '../../server/db/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { askOk, createLiveClass, socketFor, type Person } from './fixtures.ts';

/** Every class:status the socket receives, in order. */
function statusLog(socket: Socket): { status: string; teacher: string; endedAt: string | null }[] {
  const log: { status: string; teacher: string; endedAt: string | null }[] = [];
  socket.on('class:status', (s) => log.push(s));
  return log;
}

describe('a teacher who never comes back', () => {
  let server: TestServer;
  const sockets: Socket[] = [];
  const open = async (person: Person): Promise<Socket> => {
    const s = await socketFor(server, person);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    // Grace 1 s, then 0.05 min (3 s) interrupted before the class ends itself.
    server = await startTestServer({ env: { LECTERN_TEACHER_GRACE_SECONDS: '1', LECTERN_INTERRUPTED_END_MINUTES: '0.05' } });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('ends the class after the interrupted limit: database, attendance and room', async () => {
    const f = await createLiveClass(server);
    const teacher = await open(f.teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    await askOk(teacher, 'class:goLive', {});
    const student = await open(f.students[0]!);
    const seen = statusLog(student);
    await askOk(student, 'class:join', { classId: f.classId });
    const roomClosed = new Promise<string>((resolve) => server.rooms.once('roomclose', (room) => resolve(room.classId)));
    expect(server.rooms.get(f.classId)).toBeDefined();

    teacher.disconnect();
    await expect.poll(() => seen.at(-1)?.status, { timeout: 15_000 }).toBe('ended');
    // away (grace) -> interrupted -> ended, in that order.
    expect(seen.map((s) => `${s.status}/${s.teacher}`)).toEqual(expect.arrayContaining(['live/away', 'live/interrupted']));
    const order = seen
      .map((s) => (s.teacher === 'away' ? 1 : s.teacher === 'interrupted' ? 2 : s.status === 'ended' ? 3 : 0))
      .filter((n) => n > 0);
    expect(order).toEqual([...order].sort());
    expect(seen.at(-1)!.endedAt).toBeTruthy();

    expect(await roomClosed).toBe(f.classId);
    expect(server.rooms.get(f.classId)).toBeUndefined();
    const [row] = await server.db.select().from(liveClasses).where(eq(liveClasses.id, f.classId));
    expect(row).toMatchObject({ status: 'ended' });
    expect(row!.endedAt).toBeInstanceOf(Date);
    const [visit] = await server.db.select().from(attendance).where(eq(attendance.classId, f.classId));
    expect(visit!.leftAt).toBeInstanceOf(Date);
  });

  it('keeps the class live when the teacher comes back while it is interrupted', async () => {
    const f = await createLiveClass(server);
    // A second class whose teacher drops later and never comes back: when it has ended by itself, this one
    // would have too, had coming back not called its end off (same grace and limit, started earlier).
    const control = await createLiveClass(server);
    const teacher = await open(f.teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    await askOk(teacher, 'class:goLive', {});
    const controlTeacher = await open(control.teacher);
    await askOk(controlTeacher, 'class:join', { classId: control.classId });
    await askOk(controlTeacher, 'class:goLive', {});
    const student = await open(f.students[0]!);
    const seen = statusLog(student);
    await askOk(student, 'class:join', { classId: f.classId });

    teacher.disconnect();
    await expect.poll(() => seen.at(-1)?.teacher, { timeout: 10_000 }).toBe('interrupted');
    const back = await open(f.teacher);
    await askOk(back, 'class:join', { classId: f.classId });
    await expect.poll(() => seen.at(-1)?.teacher).toBe('present');

    const controlClosed = new Promise<void>((resolve) => {
      const onClose = (room: { classId: string }): void => {
        if (room.classId !== control.classId) return;
        server.rooms.off('roomclose', onClose);
        resolve();
      };
      server.rooms.on('roomclose', onClose);
    });
    controlTeacher.disconnect();
    await controlClosed;
    await expect
      .poll(async () => (await server.db.select().from(liveClasses).where(eq(liveClasses.id, control.classId)))[0]?.status)
      .toBe('ended');
    // Longer than the interrupted limit has passed: this class is still live.
    expect(seen.at(-1)).toMatchObject({ status: 'live', teacher: 'present' });
    const [row] = await server.db.select().from(liveClasses).where(eq(liveClasses.id, f.classId));
    expect(row).toMatchObject({ status: 'live', endedAt: null });
    expect(server.rooms.get(f.classId)).toBeDefined();
  });
});
