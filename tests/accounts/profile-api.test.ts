// The profile API against the real server: pictures are judged by their bytes and re-encoded by ffmpeg,
// changing the password asks for the current one and ends the other sessions, sessions are listed with their
// device and revoked, and a teacher's account is deleted only once their courses are handed over; a deleted
// student's chat and votes stay, anonymised.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatMessages, enrollments, pollOptions, pollVotes, polls, users } from '../../server/db/schema.ts';
import { HttpClient, registerUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** A real picture made by ffmpeg, in the given container. */
function picture(ext: 'png' | 'jpg', size = '320x200'): Buffer {
  const file = path.join(os.tmpdir(), `lectern-avatar-${process.pid}-${Math.random().toString(36).slice(2)}.${ext}`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc=size=${size}`, '-frames:v', '1', '-y', file]);
  const bytes = fs.readFileSync(file);
  fs.rmSync(file);
  return bytes;
}

describe('profile API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const put = (client: HttpClient, body: Buffer | string, type = 'image/png') =>
    fetch(`${server.url}/api/account/avatar`, {
      method: 'PUT',
      body: typeof body === 'string' ? body : new Uint8Array(body),
      headers: { cookie: client.cookieHeader, 'content-type': type },
    });

  it('renames, and stores a picture only as its own re-encoding, whatever the upload claims to be', async () => {
    const person = await registerUser(server.url, 'student', 'Pia Picture');
    const renamed = await person.client.patch('/api/account', { displayName: '  Pia P.  ' });
    expect(renamed.body.profile.displayName).toBe('Pia P.');
    expect((await person.client.patch('/api/account', { displayName: '' })).status).toBe(400);

    // A JPEG sent as "image/png" is read as what it is; the result is our 256x256 WebP.
    const ok = await put(person.client, picture('jpg'), 'image/png');
    expect(ok.status).toBe(200);
    const { avatarUrl } = (await ok.json()) as { avatarUrl: string };
    const served = await fetch(`${server.url}${avatarUrl}`);
    expect(served.headers.get('content-type')).toBe('image/webp');
    const bytes = Buffer.from(await served.arrayBuffer());
    expect(bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
    const probe = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', '-i', 'pipe:0'], { input: bytes }).toString(),
    ) as { streams: { width: number; height: number }[] };
    expect([probe.streams[0]!.width, probe.streams[0]!.height]).toEqual([256, 256]);

    // Text with an image name and type, an HLS playlist (ffmpeg would follow it), and too many bytes are refused.
    const text = await put(person.client, 'not a picture at all', 'image/png');
    expect(text.status).toBe(400);
    const playlist = await put(person.client, '#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n', 'image/gif');
    expect(playlist.status).toBe(400);
    const huge = await put(person.client, Buffer.concat([picture('png'), Buffer.alloc(6 * 1024 * 1024)]));
    expect(huge.status).toBe(413);
    // The first picture is still the one shown.
    expect((await person.client.get('/api/account')).body.profile.avatarUrl).toBe(avatarUrl);
    expect((await person.client.request('DELETE', '/api/account/avatar', {})).body.avatarUrl).toBeNull();
    expect((await fetch(`${server.url}${avatarUrl}`)).status).toBe(404);
  });

  it('changes the password only with the current one and ends every other session; lists and revokes sessions', async () => {
    const person = await registerUser(server.url, 'student', 'Sven Sessions');
    const phone = new HttpClient(server.url);
    await phone.request(
      'POST',
      '/api/auth/login',
      { email: person.user.email, password: person.password },
      {
        'user-agent':
          'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      },
    );
    const tablet = new HttpClient(server.url);
    await tablet.post('/api/auth/login', { email: person.user.email, password: person.password });

    const listed = await person.client.get('/api/account/sessions');
    expect(listed.body.sessions).toHaveLength(3);
    expect(listed.body.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const phoneSession = listed.body.sessions.find((s: { device: string }) => s.device.includes('iOS'));
    expect(phoneSession.device).toMatch(/Safari 17 on iOS 17/);
    expect((await person.client.request('DELETE', `/api/account/sessions/${phoneSession.id}`, {})).status).toBe(200);
    expect((await phone.get('/api/auth/me')).status).toBe(401);
    // Someone else's session is not theirs to end.
    const other = await registerUser(server.url, 'student', 'Other Person');
    expect((await other.client.request('DELETE', `/api/account/sessions/${listed.body.sessions[0].id}`, {})).status).toBe(404);

    const wrong = await person.client.request('PUT', '/api/account/password', {
      currentPassword: 'not it at all',
      newPassword: 'a fresh long password',
    });
    expect(wrong.status).toBe(403);
    const changed = await person.client.request('PUT', '/api/account/password', {
      currentPassword: person.password,
      newPassword: 'a fresh long password',
    });
    expect(changed.status).toBe(200);
    expect((await person.client.get('/api/auth/me')).status).toBe(200);
    expect((await tablet.get('/api/auth/me')).status).toBe(401);
    expect((await person.client.get('/api/account/sessions')).body.sessions).toHaveLength(1);
  });

  it('deletes a teacher only after their courses are handed over, and keeps a deleted student’s chat and votes anonymised', async () => {
    const teacher = await registerUser(server.url, 'teacher', 'Leaving Teacher');
    const successor = await registerUser(server.url, 'teacher', 'Next Teacher');
    const student = await registerUser(server.url, 'student', 'Leaving Student');
    const { classId, courseId } = await insertClass(server.database.db, {
      teacherId: teacher.user.id,
      studentIds: [student.user.id],
      title: 'Last class',
      courseTitle: 'Handed-over course',
      live: true,
    });
    const db = server.database.db;
    await db.insert(chatMessages).values({ classId, userId: student.user.id, body: 'See you all' });
    const [poll] = await db.insert(polls).values({ classId, createdBy: teacher.user.id, question: 'Ready?' }).returning();
    const [option] = await db.insert(pollOptions).values({ pollId: poll!.id, position: 0, label: 'Yes' }).returning();
    await db.insert(pollVotes).values({ pollId: poll!.id, userId: student.user.id, optionIds: [option!.id] });

    const refused = await teacher.client.request('DELETE', '/api/account', { password: teacher.password });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('courses_remaining');
    expect(refused.body.error.message).toContain('Handed-over course');
    expect((await teacher.client.post(`/api/courses/${courseId}/handover`, { email: student.user.email })).status).toBe(400);
    const handed = await teacher.client.post(`/api/courses/${courseId}/handover`, { email: successor.user.email.toUpperCase() });
    expect(handed.body.teacherName).toBe('Next Teacher');
    expect((await successor.client.get(`/api/courses/${courseId}`)).body.role).toBe('teacher');
    expect((await teacher.client.request('DELETE', '/api/account', { password: 'wrong password!' })).status).toBe(403);
    expect((await teacher.client.request('DELETE', '/api/account', { password: teacher.password })).status).toBe(200);
    expect((await teacher.client.get('/api/auth/me')).status).toBe(401);

    expect((await student.client.request('DELETE', '/api/account', { password: student.password })).status).toBe(200);
    const login = await new HttpClient(server.url).post('/api/auth/login', { email: student.user.email, password: student.password });
    expect(login.status).toBe(401);
    const [row] = await db.select().from(users).where(eq(users.id, student.user.id));
    expect(row).toMatchObject({ displayName: 'Deleted user', avatarPath: null });
    expect(row!.email).not.toContain(student.user.email.split('@')[0]);
    expect(row!.deletedAt).not.toBeNull();
    expect(await db.select().from(enrollments).where(eq(enrollments.userId, student.user.id))).toHaveLength(0);
    const chat = await db.select().from(chatMessages).where(eq(chatMessages.classId, classId));
    expect(chat.map((m) => [m.body, m.userId])).toEqual([['See you all', student.user.id]]);
    expect(await db.select().from(pollVotes).where(eq(pollVotes.pollId, poll!.id))).toHaveLength(1);
    // The address is free for a new account.
    const again = await new HttpClient(server.url).post('/api/auth/register', {
      email: student.user.email,
      password: 'a long enough pw',
      displayName: 'Back Again',
    });
    expect(again.status).toBe(201);
  });
});
