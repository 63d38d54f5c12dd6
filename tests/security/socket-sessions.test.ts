// Security of the Socket.io side against the real server: joining a class cannot leave half-attached members
// behind (a socket that vanishes mid-join, two joins at once), a page on another origin cannot open a socket
// with the visitor's cookie, and logging out ends the realtime access of that session.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Permissions } from '../../server/auth/permissions.ts';
import { ClassSchedule } from '../../server/courses/class-schedule.ts';
import { CourseCatalog } from '../../server/courses/course-catalog.ts';
import { chatMessages } from '../../server/db/schema.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { MAX_SOCKETS_PER_PERSON } from '../../server/contracts/realtime.ts';
import { call, connectAs, errorOf, joinAs, ok, socketOutcome } from '../helpers/socket-client.ts';

describe('class membership and socket sessions', () => {
  let server: TestServer;
  let teacher: RegisteredUser;
  let students: RegisteredUser[];
  let classId: string;

  beforeAll(async () => {
    server = await startTestServer();
    teacher = await registerUser(server.url, 'teacher', 'Tess Teacher');
    students = await Promise.all([0, 1, 2, 3].map((i) => registerUser(server.url, 'student', `Student ${i}`)));
    ({ classId } = await insertClass(server.db, {
      teacherId: teacher.user.id,
      studentIds: students.map((s) => s.user.id),
      title: 'Security class',
      courseTitle: 'Security course',
      live: true,
    }));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('leaves no ghost member behind when a socket disconnects while its class:join is in flight', async () => {
    const ghost = students[0]!;
    // The membership's permission check, held for this user only (every Permissions shares the prototype).
    const permissions = Permissions.prototype;
    const classEntry = permissions.classEntry;
    // Holds the join at its permission check until the server has seen the socket go: the race, made certain.
    let entered!: () => void;
    let release!: () => void;
    const started = new Promise<void>((r) => (entered = r));
    const gate = new Promise<void>((r) => (release = r));
    permissions.classEntry = async function (this: Permissions, user, id) {
      if (user.id === ghost.user.id) {
        entered();
        await gate;
      }
      return classEntry.call(this, user, id);
    };
    try {
      const socket = await connectAs(server.url, ghost);
      const serverSide = server.io.of('/').sockets.get(socket.id!)!;
      const goneOnServer = new Promise<void>((r) => serverSide.once('disconnect', () => r()));
      socket.emit('class:join', { classId });
      await started;
      socket.disconnect();
      await goneOnServer;
      release();
      // A later join of someone else round-trips through the same steps; then the ghost's join is over too.
      const probe = await joinAs(server.url, students[1]!, classId);
      await ok(probe, 'interaction:sync');
      await expect.poll(() => server.liveClasses.presence(classId)?.viewers.map((v) => v.userId)).toContain(students[1]!.user.id);
      expect(server.liveClasses.presence(classId)?.viewers.map((v) => v.userId)).toEqual([students[1]!.user.id]);
      expect(serverSide.rooms.size).toBe(0);
      probe.disconnect();
      await expect.poll(() => server.liveClasses.presence(classId)?.viewers.length ?? 0).toBe(0);
    } finally {
      permissions.classEntry = classEntry;
      release();
    }
  });

  it('attaches the class features once when the same socket sends two class:join at once', async () => {
    const student = students[2]!;
    const socket = await connectAs(server.url, student);
    const [a, b] = await Promise.all([call(socket, 'class:join', { classId }), call(socket, 'class:join', { classId })]);
    expect(a.ok && b.ok).toBe(true);
    const body = `exactly once ${Date.now()}`;
    await ok(socket, 'chat:send', { body });
    await ok(socket, 'interaction:sync'); // a later round trip: a duplicate handler would have written by now
    const rows = await server.db
      .select({ id: chatMessages.id })
      .from(chatMessages)
      .where(and(eq(chatMessages.classId, classId), eq(chatMessages.body, body)));
    expect(rows).toHaveLength(1);
    socket.disconnect();
  });

  it('lets one person into a class from a bounded number of sockets at once, and frees a seat when one leaves', async () => {
    const student = students[3]!;
    const tabs = [];
    for (let i = 0; i < MAX_SOCKETS_PER_PERSON; i++) tabs.push(await joinAs(server.url, student, classId));
    const extra = await connectAs(server.url, student);
    const refused = await errorOf(extra, 'class:join', { classId });
    expect(refused.code).toBe('too_many_tabs');
    expect(refused.message).toContain(String(MAX_SOCKETS_PER_PERSON));
    // The refused socket got nothing of the class: not in its room, no member seat counted for it.
    expect(server.io.of('/').sockets.get(extra.id!)!.rooms.has(`class:${classId}`)).toBe(false);
    // Someone else is not affected by this person's tabs.
    const other = await joinAs(server.url, students[2]!, classId);
    other.disconnect();
    // A tab leaving (class:leave, or closing) frees its seat.
    await ok(tabs[0]!, 'class:leave');
    await ok(extra, 'class:join', { classId });
    tabs[1]!.disconnect();
    const again = await connectAs(server.url, student);
    // Polled: the server frees the seat once it has seen the disconnect; the last answer shows if it never does.
    await expect.poll(() => call(again, 'class:join', { classId }), { timeout: 10_000 }).toMatchObject({ ok: true });
    for (const socket of [...tabs, extra, again]) socket.disconnect();
  });

  it("refuses a socket opened from another origin with the visitor's cookie, and accepts our own origin", async () => {
    const student = students[3]!;
    const open = (origin: string) => socketOutcome(server.url, student, origin);
    expect(await open('http://evil.example')).not.toBe('connected');
    expect(await open(server.url)).toBe('connected');
  });

  it('disconnects the sockets of a session when it logs out, and only those', async () => {
    const student = await registerUser(server.url, 'student', 'Leaving Student');
    const other = students[1]!;
    await new CourseCatalog(server.db).enroll(student.user.id, (await new ClassSchedule(server.db).get(classId))!.courseId);
    const mine = await joinAs(server.url, student, classId);
    const theirs = await joinAs(server.url, other, classId);
    const gone = new Promise<string>((resolve) => {
      mine.once('disconnect', (reason) => resolve(reason));
      setTimeout(() => resolve('still connected'), 10_000);
    });
    const res = await student.client.post('/api/auth/logout');
    expect(res.status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    // The other person's socket is untouched.
    expect((await call(theirs, 'interaction:sync')).ok).toBe(true);
    theirs.disconnect();
  });
});
