// Scheduling live classes (time zones, edit, cancel), "My schedule" with .ics export, and teacher analytics
// over real HTTP, on PGlite and on the PostgreSQL server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attendance, chatMessages, pollVotes, polls, questions } from '../../server/db/schema.ts';
import { dbKinds } from '../helpers/databases.ts';
import { dateInDays, nextDateWithOffset } from '../helpers/dates.ts';
import { HttpClient, type RegisteredUser } from '../helpers/http-client.ts';
import { registerPeople } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// Dates relative to today (tests/clock runs this file on other days of the year): one a few days ahead, and
// the next days Berlin keeps summer time (UTC+2) and winter time (UTC+1), New York summer time (UTC-4).
const soon = dateInDays(10);
const berlinSummer = nextDateWithOffset('Europe/Berlin', '+02:00');
const berlinWinter = nextDateWithOffset('Europe/Berlin', '+01:00');
const newYorkSummer = nextDateWithOffset('America/New_York', '-04:00');

describe.each(await dbKinds())('schedule and analytics API on %s', (kind) => {
  let server: TestServer;
  let teacher: RegisteredUser, otherTeacher: RegisteredUser, student: RegisteredUser, outsider: RegisteredUser, admin: RegisteredUser;
  let courseId: string;
  let lessonId: string;

  beforeAll(async () => {
    server = await startTestServer({ db: kind });
    ({ teacher, otherTeacher, student, outsider, admin } = await registerPeople(server, { outsider: '=Olga Outsider' }));
    courseId = (await teacher.client.post('/api/courses', { title: 'Astronomy, for beginners' })).body.course.id;
    lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Stars' })).body.lesson.id;
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    await student.client.post(`/api/courses/${courseId}/enrollment`);
  });
  afterAll(() => server?.stop());

  const schedule = (client: HttpClient, body: unknown) => client.post(`/api/courses/${courseId}/classes`, body);

  it('schedules a class at a wall time in a time zone and stores the right instant', async () => {
    const res = await schedule(teacher.client, {
      title: 'Night sky',
      lessonId,
      startsAtLocal: `${berlinSummer}T18:30`,
      timeZone: 'Europe/Berlin',
      durationMinutes: 90,
    });
    expect(res.status).toBe(201);
    expect(new Date(res.body.liveClass.scheduledAt).toISOString()).toBe(`${berlinSummer}T16:30:00.000Z`); // CEST = UTC+2
    expect(res.body.liveClass).toMatchObject({ timeZone: 'Europe/Berlin', durationMinutes: 90, status: 'scheduled', lessonId });
    expect(res.body.liveClass.endsAt).toBe(`${berlinSummer}T18:00:00.000Z`);
    const winter = await schedule(teacher.client, {
      title: 'Winter sky',
      startsAtLocal: `${berlinWinter}T18:30`,
      timeZone: 'Europe/Berlin',
    });
    expect(new Date(winter.body.liveClass.scheduledAt).toISOString()).toBe(`${berlinWinter}T17:30:00.000Z`); // CET = UTC+1
    const ny = await schedule(teacher.client, { title: 'NY', startsAtLocal: `${newYorkSummer}T09:00`, timeZone: 'America/New_York' });
    expect(new Date(ny.body.liveClass.scheduledAt).toISOString()).toBe(`${newYorkSummer}T13:00:00.000Z`); // EDT = UTC-4
  });

  it('validates scheduling and lets only the course teacher or an admin schedule', async () => {
    const bad = await schedule(teacher.client, { title: '', startsAtLocal: 'tomorrow', timeZone: 'Mars/Olympus', durationMinutes: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'durationMinutes',
      'startsAtLocal',
      'timeZone',
      'title',
    ]);
    const past = await schedule(teacher.client, { title: 'Late', startsAtLocal: `${dateInDays(-1)}T10:00`, timeZone: 'UTC' });
    expect(past.status).toBe(409);
    expect(past.body.error.code).toBe('in_the_past');
    const foreignLesson = (await otherTeacher.client.post('/api/courses', { title: 'Other' })).body.course.id;
    const otherLesson = (await otherTeacher.client.post(`/api/courses/${foreignLesson}/lessons`, { title: 'x' })).body.lesson.id;
    expect(
      (await schedule(teacher.client, { title: 'x', lessonId: otherLesson, startsAtLocal: `${soon}T10:00`, timeZone: 'UTC' })).status,
    ).toBe(400);
    const body = { title: 'Nope', startsAtLocal: `${soon}T10:00`, timeZone: 'UTC' };
    expect((await schedule(student.client, body)).status).toBe(403);
    expect((await schedule(otherTeacher.client, body)).status).toBe(403);
    expect((await schedule(new HttpClient(server.url), body)).status).toBe(401);
    expect((await schedule(admin.client, body)).status).toBe(201);
  });

  it('edits and cancels; students see the change (cancelled stays listed) in My schedule and the .ics', async () => {
    const created = (await schedule(teacher.client, { title: 'Moon phases', startsAtLocal: `${soon}T20:00`, timeZone: 'UTC' })).body
      .liveClass;
    expect((await student.client.patch(`/api/classes/${created.id}`, { title: 'Hacked' })).status).toBe(403);
    expect((await teacher.client.patch(`/api/classes/${created.id}`, { durationMinutes: 3 })).status).toBe(400);
    const edited = await teacher.client.patch(`/api/classes/${created.id}`, {
      title: 'Moon phases, part 1',
      startsAtLocal: `${soon}T21:00`,
      timeZone: 'Asia/Tokyo',
    });
    expect(edited.status).toBe(200);
    expect(new Date(edited.body.liveClass.scheduledAt).toISOString()).toBe(`${soon}T12:00:00.000Z`);

    const mine = await student.client.get('/api/schedule?days=366');
    const listed = mine.body.classes.find((k: { id: string }) => k.id === created.id);
    expect(listed).toMatchObject({
      title: 'Moon phases, part 1',
      status: 'scheduled',
      courseTitle: 'Astronomy, for beginners',
      role: 'student',
      timeZone: 'Asia/Tokyo',
    });
    expect((await outsider.client.get('/api/schedule?days=366')).body.classes).toEqual([]);
    const teaching = (await teacher.client.get('/api/schedule?days=366')).body.classes.find((k: { id: string }) => k.id === created.id);
    expect(teaching.role).toBe('teacher');
    expect((await student.client.get('/api/schedule?days=9999')).status).toBe(400);
    expect((await new HttpClient(server.url).get('/api/schedule')).status).toBe(401);

    expect((await student.client.post(`/api/classes/${created.id}/cancel`)).status).toBe(403);
    const cancelled = await teacher.client.post(`/api/classes/${created.id}/cancel`);
    expect(cancelled.body.liveClass.status).toBe('cancelled');
    expect((await teacher.client.patch(`/api/classes/${created.id}`, { title: 'Again' })).status).toBe(409);
    const after = (await student.client.get('/api/schedule?days=366')).body.classes.find((k: { id: string }) => k.id === created.id);
    expect(after.status).toBe('cancelled');
    const detail = await student.client.get(`/api/courses/${courseId}`);
    expect(detail.body.classes.find((k: { id: string }) => k.id === created.id).status).toBe('cancelled');

    const ics = await student.client.get('/api/schedule/calendar.ics?days=366');
    expect(ics.status).toBe(200);
    expect(ics.headers.get('content-type')).toContain('text/calendar');
    const text = String(ics.body);
    expect(text).toMatch(/^BEGIN:VCALENDAR\r\n/);
    const event = text.split('BEGIN:VEVENT').find((e) => e.includes(`class-${created.id}@lectern`))!;
    expect(event).toContain(`DTSTART:${soon.replace(/-/g, '')}T120000Z`);
    expect(event).toContain('STATUS:CANCELLED');
    expect(event).toContain('SUMMARY:Moon phases\\, part 1 (Astronomy\\, for beginners)');
    const one = await student.client.get(`/api/classes/${created.id}/calendar.ics`);
    expect(String(one.body)).toContain(`UID:class-${created.id}@lectern`);
    expect((await outsider.client.get(`/api/classes/${created.id}/calendar.ics`)).status).toBe(403);
  });

  it('gives the teacher attendance, viewers over time, participation and completion, with CSV; nobody else', async () => {
    const liveClass = (await schedule(teacher.client, { title: 'Analytics class', startsAtLocal: `${soon}T10:00`, timeZone: 'UTC' })).body
      .liveClass;
    const t0 = Date.now() - 2 * 86_400_000; // the class ran two days ago, whatever today is
    const at = (min: number) => new Date(t0 + min * 60_000);
    const db = server.db;
    await db.insert(attendance).values([
      { classId: liveClass.id, userId: student.user.id, joinedAt: at(0), leftAt: at(30), watchSeconds: 1800 },
      { classId: liveClass.id, userId: outsider.user.id, joinedAt: at(10), leftAt: at(20), watchSeconds: 600, mode: 'hls' },
      { classId: liveClass.id, userId: student.user.id, joinedAt: at(40), leftAt: at(45), watchSeconds: 300 },
    ]);
    await db.insert(chatMessages).values([
      { classId: liveClass.id, userId: student.user.id, body: 'hi' },
      { classId: liveClass.id, userId: student.user.id, body: 'again' },
      { classId: liveClass.id, userId: outsider.user.id, body: 'deleted', deletedAt: new Date() },
    ]);
    await db.insert(questions).values({ classId: liveClass.id, userId: outsider.user.id, body: 'Why?' });
    const [poll] = await db.insert(polls).values({ classId: liveClass.id, createdBy: teacher.user.id, question: 'Q?' }).returning();
    await db.insert(pollVotes).values({ pollId: poll!.id, userId: student.user.id, optionIds: [] });

    const res = await teacher.client.get(`/api/classes/${liveClass.id}/analytics`);
    expect(res.status).toBe(200);
    const a = res.body.analytics;
    expect(a).toMatchObject({ peakViewers: 2, totalViewers: 2 });
    expect(a.participation).toEqual({ chatMessages: 2, chatters: 1, questions: 1, askers: 1, polls: 1, pollVoters: 1 });
    expect(a.attendance.map((r: { displayName: string; watchSeconds: number }) => [r.displayName, r.watchSeconds])).toEqual([
      ['Sam Student', 1800],
      ['=Olga Outsider', 600],
      ['Sam Student', 300],
    ]);
    expect(a.viewersOverTime[0]).toEqual({ at: at(0).toISOString(), viewers: 1 });
    expect(Math.max(...a.viewersOverTime.map((p: { viewers: number }) => p.viewers))).toBe(2);
    expect(a.viewersOverTime.find((p: { at: string }) => p.at === at(35).toISOString()).viewers).toBe(0);

    expect((await student.client.get(`/api/classes/${liveClass.id}/analytics`)).status).toBe(403);
    expect((await otherTeacher.client.get(`/api/classes/${liveClass.id}/analytics`)).status).toBe(403);
    expect((await admin.client.get(`/api/classes/${liveClass.id}/analytics`)).status).toBe(200);
    const csv = await teacher.client.get(`/api/classes/${liveClass.id}/analytics.csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = String(csv.body).trim().split('\r\n');
    expect(lines[0]).toBe('name,user_id,joined_at,left_at,watch_seconds,mode');
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(/^'=Olga Outsider,/); // formula neutralised

    await student.client.request('PUT', `/api/lessons/${lessonId}/progress`, { positionSeconds: 95, durationSeconds: 100 });
    const course = await teacher.client.get(`/api/courses/${courseId}/analytics`);
    expect(course.status).toBe(200);
    expect(course.body.analytics).toMatchObject({ enrolled: 1, totalLessons: 1, completionRate: 100, averagePercent: 100 });
    expect(course.body.analytics.students[0]).toMatchObject({ displayName: 'Sam Student', completedLessons: 1, percent: 100 });
    expect(course.body.analytics.lessons[0]).toMatchObject({ lessonId, started: 1, completed: 1, completionRate: 100 });
    expect((await student.client.get(`/api/courses/${courseId}/analytics`)).status).toBe(403);
    const courseCsv = String((await teacher.client.get(`/api/courses/${courseId}/analytics.csv`)).body);
    expect(courseCsv).toContain('Sam Student');
  });
});
