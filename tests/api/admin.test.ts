// The admin API over a real server: only admins get in; they find accounts, promote a student to teacher,
// disable an account (it cannot log in, its sessions end and its open socket is closed) and enable it again;
// moderators' mutes, removals and deleted messages and the admins' own changes are in the audit trail; the
// classes live now show their viewers and media, and failed recordings and transcodes show their reasons.
import { eq } from 'drizzle-orm';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, recordings, transcodeJobs } from '../../server/db/schema.ts';
import { HttpClient, registerUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectAs, joinAs, ok } from '../helpers/socket-client.ts';
import { goLiveWithSendTransport, produceFake } from '../sfu/fixtures.ts';

describe('/api/admin', () => {
  let server: TestServer;
  let people: People;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('is for admins only', async () => {
    expect((await new HttpClient(server.url).get('/api/admin/users')).status).toBe(401);
    for (const who of [people.teacher, people.student]) {
      const res = await who.client.get('/api/admin/users');
      expect([res.status, res.body.error.code]).toEqual([403, 'forbidden']);
      expect((await who.client.patch(`/api/admin/users/${people.student.user.id}`, { role: 'admin' })).status).toBe(403);
    }
    expect((await people.admin.client.get('/api/admin/users')).status).toBe(200);
  });

  it('finds accounts and promotes a student to teacher, audited', async () => {
    const found = await people.admin.client.get(`/api/admin/users?q=${encodeURIComponent('Sam Stud')}`);
    expect(found.status).toBe(200);
    expect(found.body.users).toEqual([expect.objectContaining({ id: people.student.user.id, role: 'student', disabled: false })]);
    const teachers = await people.admin.client.get('/api/admin/users?role=teacher');
    expect(teachers.body.users.map((u: { id: string }) => u.id).sort()).toEqual(
      [people.teacher.user.id, people.otherTeacher.user.id].sort(),
    );
    expect((await people.admin.client.patch(`/api/admin/users/${people.student.user.id}`, { role: 'pope' })).status).toBe(400);

    const promoted = await people.admin.client.patch(`/api/admin/users/${people.student.user.id}`, { role: 'teacher' });
    expect(promoted.status).toBe(200);
    expect(promoted.body.user.role).toBe('teacher');
    expect((await people.student.client.get('/api/auth/me')).body.user.role).toBe('teacher');
    const audit = await people.admin.client.get('/api/admin/audit');
    expect(audit.body.entries[0]).toMatchObject({
      action: 'user.role_changed',
      actor: { id: people.admin.user.id, displayName: 'Ada Admin' },
      target: { id: people.student.user.id, displayName: 'Sam Student' },
      detail: { from: 'student', to: 'teacher' },
    });
    // An admin cannot lock themself out.
    const self = await people.admin.client.patch(`/api/admin/users/${people.admin.user.id}`, { disabled: true });
    expect([self.status, self.body.error.code]).toEqual([403, 'forbidden']);
  });

  it('disables an account: no login, its session ends and its socket closes; enabled, it logs in again', async () => {
    const person = await registerUser(server.url, 'student', 'Soon Disabled');
    const socket = await connectAs(server.url, person);
    sockets.push(socket);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));

    const res = await people.admin.client.patch(`/api/admin/users/${person.user.id}`, { disabled: true });
    expect(res.status).toBe(200);
    expect(res.body.user.disabled).toBe(true);
    expect(await closed).toBe('io server disconnect');
    expect((await person.client.get('/api/auth/me')).status).toBe(401);
    const login = await new HttpClient(server.url).post('/api/auth/login', { email: person.user.email, password: person.password });
    expect([login.status, login.body.error.code]).toEqual([401, 'account_disabled']);
    // A wrong password still reads as a wrong password: the answer tells a guesser nothing about the account.
    const guess = await new HttpClient(server.url).post('/api/auth/login', { email: person.user.email, password: 'not the password' });
    expect(guess.body.error.code).toBe('invalid_credentials');

    expect((await people.admin.client.patch(`/api/admin/users/${person.user.id}`, { disabled: false })).body.user.disabled).toBe(false);
    const again = await new HttpClient(server.url).post('/api/auth/login', { email: person.user.email, password: person.password });
    expect(again.status).toBe(200);
    const actions = (await people.admin.client.get('/api/admin/audit')).body.entries
      .filter((e: { target: { id: string } | null }) => e.target?.id === person.user.id)
      .map((e: { action: string }) => e.action);
    expect(actions).toEqual(['user.enabled', 'user.disabled']);
  });

  it("shows a live class with its viewers and media, and audits its moderator's mute, removal and deleted message", async () => {
    const teacherPerson = await registerUser(server.url, 'teacher', 'Live Teacher');
    const [watcher, noisy] = [await registerUser(server.url, 'student', 'Watcher'), await registerUser(server.url, 'student', 'Noisy')];
    const { classId } = await insertClass(server.db, {
      teacherId: teacherPerson.user.id,
      studentIds: [watcher.user.id, noisy.user.id],
      title: 'Admin watches',
      courseTitle: 'Admin view course',
      live: false,
    });
    const teacher = await joinAs(server.url, teacherPerson, classId);
    sockets.push(teacher);
    const { rtp, send } = await goLiveWithSendTransport(teacher);
    await produceFake(teacher, send.id, 'camera');
    const student = await joinAs(server.url, watcher, classId);
    const other = await joinAs(server.url, noisy, classId);
    sockets.push(student, other);
    await ok(student, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });

    await expect
      .poll(
        async () =>
          (await people.admin.client.get('/api/admin/live-classes')).body.classes.find((c: { classId: string }) => c.classId === classId)
            ?.viewers,
      )
      .toEqual({ webrtc: 1, hls: 0, waiting: 1 });
    const [live] = (await people.admin.client.get('/api/admin/live-classes')).body.classes;
    expect(live).toMatchObject({ classId, title: 'Admin watches', courseTitle: 'Admin view course', teacher: 'Live Teacher' });
    expect(['offline', 'starting', 'live']).toContain(live.hls.state);
    expect(live.hls.ffmpegRunning).toBe(false); // the fake camera sends no media, so the bridge waits

    const message = await ok(other, 'chat:send', { body: 'spam' });
    await ok(teacher, 'chat:delete', { messageId: message.id });
    await ok(teacher, 'moderation:mute', { userId: noisy.user.id, muted: true });
    await ok(teacher, 'moderation:remove', { userId: noisy.user.id });
    const entries = (await people.admin.client.get('/api/admin/audit')).body.entries.filter(
      (e: { classId: string | null }) => e.classId === classId,
    );
    expect(entries.map((e: { action: string }) => e.action)).toEqual([
      'class.student_removed',
      'class.student_muted',
      'class.chat_deleted',
    ]);
    expect(entries[0]).toMatchObject({ actor: { id: teacherPerson.user.id }, target: { id: noisy.user.id, displayName: 'Noisy' } });
  });

  it('lists recent failed recordings and transcodes with their reasons, not older ones', async () => {
    const courseId = (await people.teacher.client.post('/api/courses', { title: 'Failing course' })).body.course.id;
    const lessonId = (await people.teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Broken upload' })).body.lesson.id;
    await server.db.update(lessons).set({ videoStatus: 'failed' }).where(eq(lessons.id, lessonId));
    await server.db.insert(transcodeJobs).values({
      lessonId,
      status: 'failed',
      sourcePath: 'incoming/x.mp4',
      error: 'Invalid data found when processing input',
      finishedAt: new Date(),
    });
    const { classId } = await insertClass(server.db, {
      teacherId: people.teacher.user.id,
      studentIds: [],
      title: 'Recording lost',
      courseTitle: 'Recording course',
      live: false,
    });
    await server.db
      .insert(recordings)
      .values({ classId, playlistPath: 'recordings/y/master.m3u8', status: 'failed', error: 'The recording has no segments' });
    const longAgo = new Date(Date.now() - 40 * 86_400_000);
    await server.db
      .insert(recordings)
      .values({ classId, playlistPath: 'recordings/z/master.m3u8', status: 'failed', error: 'Old failure', createdAt: longAgo });

    const res = await people.admin.client.get('/api/admin/failures');
    expect(res.status).toBe(200);
    expect(res.body.failures).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'transcode', title: 'Broken upload', reason: 'Invalid data found when processing input' }),
        expect.objectContaining({ kind: 'recording', title: 'Recording lost', reason: 'The recording has no segments' }),
      ]),
    );
    expect(res.body.failures.map((f: { reason: string }) => f.reason)).not.toContain('Old failure');
  });
});
