// A node of the cluster killed (SIGKILL: nothing of it runs its shutdown). Its members must not linger: the nodes
// still alive drop them from the class's presence (pushed again to everyone), close their attendance rows, and
// when the teacher was on the killed node and never comes back, run the grace period, the interruption and the
// automatic end exactly as when the teacher's socket drops on a live node.
import type { Socket } from 'socket.io-client';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassStatusPush, PresencePush } from '../../server/contracts/live-class.ts';
import { attendance, liveClasses, users } from '../../server/db/schema.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startProcessCluster, type ProcessCluster } from '../helpers/process-pair.ts';
import { connectAs, nextEvent, ok, record } from '../helpers/socket-client.ts';
import type { ServerProcess } from '../helpers/server-process.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

/** Killed like a crash: no shutdown runs, its sockets and Redis connections just vanish. */
async function kill(node: ServerProcess): Promise<void> {
  const exited = new Promise((resolve) => node.child.once('exit', resolve));
  node.child.kill('SIGKILL');
  await exited;
}

describe('a killed node of the cluster', () => {
  let cluster: ProcessCluster;
  const sockets: Socket[] = [];
  let teacher: Person;
  let studentOnB: Person;
  let studentOnC: Person;
  let admin: Person;
  let classId: string;

  beforeAll(async () => {
    // A short grace period and interruption limit, so the class ends by itself within this test.
    cluster = await startProcessCluster('node-death', 3, {
      LOG_LEVEL: 'info',
      LECTERN_TEACHER_GRACE_SECONDS: '1',
      LECTERN_INTERRUPTED_END_MINUTES: '0.02',
    });
    const [a, b, c] = cluster.nodes as [ServerProcess, ServerProcess, ServerProcess];
    teacher = await registerUser(a.url, 'teacher', 'Teacher on A');
    studentOnB = await registerUser(b.url, 'student', 'Student on B');
    studentOnC = await registerUser(c.url, 'student', 'Student on C');
    admin = await registerUser(c.url, 'student', 'Admin');
    await cluster.database.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.user.id));
    classId = await createLiveClass(cluster.database.db, teacher, [studentOnB, studentOnC]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await cluster?.stop();
  });

  /** The class's students by mode, as the admin view on `node` shows them. */
  const adminSees = async (node: ServerProcess) => {
    const { body } = await admin.client.at(node.url).get('/api/admin/live-classes');
    return (body.classes as { classId: string; viewers: unknown }[]).find((c) => c.classId === classId)?.viewers;
  };

  const attendanceOf = (person: Person) =>
    cluster.database.db
      .select()
      .from(attendance)
      .where(and(eq(attendance.classId, classId), eq(attendance.userId, person.user.id)));

  it("drops a killed node's student from the presence the teacher sees on another node, and closes their attendance", async () => {
    const [a, b, c] = cluster.nodes as [ServerProcess, ServerProcess, ServerProcess];
    const teacherOnA = await connectAs(a.url, teacher);
    sockets.push(teacherOnA);
    const presence = record<PresencePush>(teacherOnA, 'presence:update');
    await ok(teacherOnA, 'class:join', { classId });
    for (const [node, person] of [
      [b, studentOnB],
      [c, studentOnC],
    ] as const) {
      const socket = await connectAs(node.url, person);
      sockets.push(socket);
      await ok(socket, 'class:join', { classId });
    }
    // Every node's members in one list, whichever node pushed it.
    await expect.poll(() => presence.at(-1)?.studentCount, { timeout: 15_000 }).toBe(2);
    expect(
      presence
        .at(-1)!
        .viewers.map((v) => v.displayName)
        .sort(),
    ).toEqual(['Student on B', 'Student on C', 'Teacher on A']);
    await expect.poll(async () => (await attendanceOf(studentOnB)).length, { timeout: 10_000 }).toBe(1);
    // The peak is the class's (two students through two nodes), not one node's count.
    await expect
      .poll(async () => (await cluster.database.db.select().from(liveClasses).where(eq(liveClasses.id, classId)))[0]!.peakViewers)
      .toBe(2);
    // The admin view on any node counts the whole class.
    for (const node of [a, c]) expect(await adminSees(node)).toEqual({ webrtc: 0, hls: 0, waiting: 2 });

    await kill(b);
    const killedAt = Date.now();
    // Nobody on B leaves (it is dead): the other nodes notice it stopped beating and push the presence again.
    const after = await nextEvent<PresencePush>(teacherOnA, 'presence:update', (p) => p.studentCount === 1, 30_000);
    console.info(`presence without the killed node's student ${Date.now() - killedAt} ms after the kill`);
    expect(after.viewers.map((v) => v.displayName).sort()).toEqual(['Student on C', 'Teacher on A']);
    const [row] = await attendanceOf(studentOnB);
    expect(row!.leftAt).not.toBeNull();
    // The student on C still attends.
    const [other] = await attendanceOf(studentOnC);
    expect(other!.leftAt).toBeNull();
    expect(await adminSees(c)).toEqual({ webrtc: 0, hls: 0, waiting: 1 });
  });

  it('drops the members of a node killed and started again under its name, whoever notices first', async () => {
    const teacherOnA = sockets[0]!;
    const [row] = await attendanceOf(studentOnC);
    await kill(cluster.nodes[2]!);
    const cleared = nextEvent<PresencePush>(teacherOnA, 'presence:update', (p) => p.studentCount === 0, 30_000);
    // Started again at once: within three beats the others never see node-3 gone, and it clears what it left itself.
    const c = await cluster.restart(3);
    await cleared;
    const by = await Promise.any(
      cluster.nodes
        .slice(0, 1)
        .concat(c)
        .map((node) =>
          node.waitForLog((l) => l.msg.includes('node that is gone leave their classes') && l.node === 'node-3', 30_000).then(() => node),
        ),
    );
    console.info(`node-3's student cleared by ${by === c ? 'node-3 itself, starting again' : 'node-1, which saw node-3 gone'}`);
    const [closed] = (await attendanceOf(studentOnC)).filter((r) => r.id === row!.id);
    expect(closed!.leftAt).not.toBeNull();
    // The student comes back through the new node-3.
    const again = await connectAs(c.url, studentOnC);
    sockets.push(again);
    await ok(again, 'class:join', { classId });
    await expect.poll(() => attendanceOf(studentOnC).then((rows) => rows.filter((r) => !r.leftAt).length)).toBe(1);
  });

  it("runs the grace period, the interruption and the end when the teacher's node is killed and they never come back", async () => {
    const a = cluster.nodes[0]!;
    const studentSocketOnC = sockets.at(-1)!;
    const seen = record<ClassStatusPush>(studentSocketOnC, 'class:status');
    const presence = record<PresencePush>(studentSocketOnC, 'presence:update');
    const ended = nextEvent<ClassStatusPush>(studentSocketOnC, 'class:status', (s) => s.status === 'ended', 40_000);
    await kill(a);
    await ended;
    const teacherStates = seen.map((s) => s.teacher);
    expect(teacherStates).toEqual(expect.arrayContaining(['away', 'interrupted']));
    expect(teacherStates.indexOf('away')).toBeLessThan(teacherStates.indexOf('interrupted'));
    const [row] = await cluster.database.db.select().from(liveClasses).where(eq(liveClasses.id, classId));
    expect(row!.status).toBe('ended');
    // The student's attendance closed with the class; the presence they were pushed still counts them.
    expect((await attendanceOf(studentOnC)).filter((r) => !r.leftAt)).toEqual([]);
    expect(presence.at(-1)?.studentCount).toBe(1);
  });
});
