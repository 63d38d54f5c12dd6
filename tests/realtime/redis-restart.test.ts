// A running cluster whose Redis is killed (SIGKILL) and started again empty (it keeps nothing on disk): two real
// server nodes on a redis-server of the test's own, the teacher on A and a student on B. Once Redis is back, each
// node writes back what it holds (beats, presence, origin claims, seats, session records) and nobody is taken for
// gone meanwhile: chat still crosses the nodes, the admin view on each node counts the student, the teacher's
// presence lists both people again, the class stays live with its teacher present, and a new student on B gets in.
import type { Socket } from 'socket.io-client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../server/contracts/interaction.ts';
import type { ClassStatusPush, PresencePush } from '../../server/contracts/live-class.ts';
import { attendance, users } from '../../server/db/schema.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import { startScratchRedis, type ScratchRedis } from '../helpers/redis.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { connectAs, nextChatMessage, nextEvent, ok, record } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe('a cluster whose Redis restarts empty', () => {
  const scratch: ScratchRedis[] = [];
  let pair: ProcessPair;
  const sockets: Socket[] = [];
  let teacher: Person;
  let student: Person;
  let newcomer: Person;
  let admin: Person;
  let classId: string;

  beforeAll(async () => {
    scratch.push(await startScratchRedis());
    // A short grace period and interruption limit: a node that wrongly took the teacher for gone would interrupt
    // the class within this test. Info logs, to see each node's outage and recovery.
    pair = await startProcessPair('redis-restart', {
      REDIS_URL: scratch[0]!.url,
      LOG_LEVEL: 'info',
      LECTERN_TEACHER_GRACE_SECONDS: '1',
      LECTERN_INTERRUPTED_END_MINUTES: '0.05',
    });
    teacher = await registerUser(pair.a.url, 'teacher', 'Teacher on A');
    student = await registerUser(pair.b.url, 'student', 'Student on B');
    newcomer = await registerUser(pair.b.url, 'student', 'Newcomer on B');
    admin = await registerUser(pair.a.url, 'student', 'Admin');
    await pair.database.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.user.id));
    classId = await createLiveClass(pair.database.db, teacher, [student, newcomer]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await pair?.stop();
    for (const r of scratch) await r.kill();
  });

  /** The class's students by mode, as the admin view on `node` counts them (from Redis). */
  const adminSees = async (node: ServerProcess) => {
    const { body } = await admin.client.at(node.url).get('/api/admin/live-classes');
    return (body.classes as { classId: string; viewers: unknown }[]).find((c) => c.classId === classId)?.viewers;
  };
  const names = (push: PresencePush | undefined) => push?.viewers.map((v) => v.displayName).sort();

  it('keeps the class going across the nodes, and lets a new student in through B', async () => {
    const { a, b } = pair;
    const teacherOnA = await connectAs(a.url, teacher);
    const studentOnB = await connectAs(b.url, student);
    sockets.push(teacherOnA, studentOnB);
    const presence = record<PresencePush>(teacherOnA, 'presence:update');
    const statuses = [...[teacherOnA, studentOnB].map((s) => record<ClassStatusPush>(s, 'class:status'))];
    await ok(teacherOnA, 'class:join', { classId });
    await ok(studentOnB, 'class:join', { classId });
    await expect.poll(() => names(presence.at(-1)), { timeout: 15_000 }).toEqual(['Student on B', 'Teacher on A']);
    for (const node of [a, b]) await expect.poll(() => adminSees(node)).toEqual({ webrtc: 0, hls: 0, waiting: 1 });

    const [redis] = scratch as [ScratchRedis];
    await redis.kill();
    // Down for a while: each node's reconnections fail meanwhile, and its beats, renewals and checks are skipped.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // Each node's three connections: its command connection and the Socket.io adapter's pair. A message published
    // before the other node's subscriber is back is lost for its clients (Redis's publish/subscribe keeps nothing).
    const back = [a, b].flatMap((node) =>
      [
        /^Redis answers again: this node/,
        /^Redis answers again \(Socket.io adapter, publish\)/,
        /^Redis answers again \(Socket.io adapter, subscribe\)/,
      ].map((line) => node.waitForLog((l) => line.test(l.msg), 30_000)),
    );
    scratch.push(await startScratchRedis(redis.port));
    const restartedAt = Date.now();
    const pushedAgain = presence.length;
    await Promise.all(back);
    console.info(`both nodes connected again (all three connections each) ${Date.now() - restartedAt} ms after Redis started`);

    // The teacher's presence is pushed again from the roster both nodes wrote back, and each node counts the student.
    await expect.poll(() => names(presence.slice(pushedAgain).at(-1)), { timeout: 15_000 }).toEqual(['Student on B', 'Teacher on A']);
    for (const node of [a, b]) await expect.poll(() => adminSees(node), { timeout: 15_000 }).toEqual({ webrtc: 0, hls: 0, waiting: 1 });

    // Chat crosses the nodes both ways (the Socket.io adapter's connections came back too).
    const toTeacher = nextChatMessage(teacherOnA, (m) => m.body === 'still there?', 15_000);
    await ok<ChatMessage>(studentOnB, 'chat:send', { body: 'still there?' });
    expect((await toTeacher).author.displayName).toBe('Student on B');
    const toStudent = nextChatMessage(studentOnB, (m) => m.body === 'yes', 15_000);
    await ok<ChatMessage>(teacherOnA, 'chat:send', { body: 'yes' });
    await toStudent;

    // A new student gets in through B: the class is live with its teacher present, and everyone sees three people.
    const newcomerOnB = await connectAs(b.url, newcomer);
    sockets.push(newcomerOnB);
    const joined = nextEvent<ClassStatusPush>(newcomerOnB, 'class:status');
    await ok(newcomerOnB, 'class:join', { classId });
    expect(await joined).toMatchObject({ status: 'live', teacher: 'present' });
    await expect.poll(() => names(presence.at(-1)), { timeout: 15_000 }).toEqual(['Newcomer on B', 'Student on B', 'Teacher on A']);
    for (const node of [a, b]) await expect.poll(() => adminSees(node), { timeout: 15_000 }).toEqual({ webrtc: 0, hls: 0, waiting: 2 });

    console.info(`class checked ${Date.now() - restartedAt} ms after Redis started`);

    // Past the time nobody is taken for gone after Redis came back (three beats of 2 s): each node still sees the
    // other, so neither cleared the other's members (which would close the student's attendance), nor took the
    // teacher for away: no status but live and present was ever pushed.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    for (const node of [a, b]) {
      expect(node.logs.filter((l) => /stopped beating|node that is gone/.test(l.msg))).toEqual([]);
      // One warning per connection for the outage (the node's and the Socket.io adapter's two), however many reconnections failed.
      expect(node.logs.filter((l) => l.level === 40 && /^Redis does not answer/.test(l.msg))).toHaveLength(3);
      expect(await adminSees(node)).toEqual({ webrtc: 0, hls: 0, waiting: 2 });
    }
    const rows = await pair.database.db
      .select()
      .from(attendance)
      .where(and(eq(attendance.classId, classId), eq(attendance.userId, student.user.id)));
    expect(rows.map((r) => r.leftAt)).toEqual([null]);
    expect(statuses.flat().filter((s) => s.status !== 'live' || s.teacher !== 'present')).toEqual([]);
  });
});
