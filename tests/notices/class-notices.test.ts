// Class notices through the real server and a real SMTP server: "starts in 15 minutes" once per class and not
// for a cancelled one (which sends its cancellation instead), a moved class's new time, "the replay is
// ready" once per recording, and each person's switch per kind of notice.
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailOutbox, recordings } from '../../server/db/schema.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { sharedMailCatcher, type MailCatcher } from '../helpers/mail-catcher.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The wall time `minutes` from now in UTC, as the schedule form sends it (whole minutes). */
function utcIn(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString().slice(0, 16);
}

describe('class notices', () => {
  let server: TestServer;
  let mail: MailCatcher;
  let teacher: RegisteredUser;
  let keen: RegisteredUser;
  let quiet: RegisteredUser;
  let courseId: string;
  const schedule = async (title: string, minutes: number) =>
    (await teacher.client.post(`/api/courses/${courseId}/classes`, { title, startsAtLocal: utcIn(minutes), timeZone: 'UTC' })).body
      .liveClass;
  const subjects = (person: RegisteredUser) => mail.to(person.user.email).map((m) => m.subject);

  beforeAll(async () => {
    [server, mail] = await Promise.all([startTestServer(), sharedMailCatcher()]);
    teacher = await registerUser(server.url, 'teacher', 'Nadia Notice');
    keen = await registerUser(server.url, 'student', 'Kim Keen');
    quiet = await registerUser(server.url, 'student', 'Quinn Quiet');
    courseId = (await teacher.client.post('/api/courses', { title: 'Noticed Physics' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Waves' });
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    for (const s of [keen, quiet]) expect((await s.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    // Quinn turns class reminders off in the profile; schedule changes stay on.
    const prefs = await quiet.client.request('PUT', '/api/account/mail-preferences', { topics: { class_reminders: false } });
    expect(prefs.body.topics).toMatchObject({ class_reminders: false, schedule_changes: true, replays: true });
  });
  afterAll(() => server?.stop());

  it('reminds once per class, not for a cancelled one (which is announced instead), and announces a move', async () => {
    const soon = await schedule('Standing waves, live', 10);
    const cancelled = await schedule('Resonance, live', 12);
    const later = await schedule('Interference, live', 180);
    expect((await teacher.client.post(`/api/classes/${cancelled.id}/cancel`)).status).toBe(200);
    const moved = await teacher.client.patch(`/api/classes/${later.id}`, { startsAtLocal: utcIn(240), timeZone: 'UTC' });
    expect(moved.status).toBe(200);

    // Several scans (the server's own timer runs too) fan each class out once.
    await Promise.all([server.notices.scan(), server.notices.scan()]);
    await server.notices.scan();
    await server.mailer.drain();

    const reminder = await mail.waitFor((m) => m.to.includes(keen.user.email) && m.subject.startsWith('Starts in'));
    expect(reminder.subject).toMatch(/^Starts in (9|10) minutes: Standing waves, live$/);
    expect(reminder.text).toContain(`${server.url}/classes/${soon.id}`);
    expect(reminder.text).toContain('(UTC)');
    expect(String(reminder.rawHeaders.get('list-unsubscribe'))).toContain('/mail/unsubscribe?token=');
    await mail.waitFor((m) => m.to.includes(keen.user.email) && m.subject === 'Cancelled: Resonance, live');
    await mail.waitFor((m) => m.to.includes(quiet.user.email) && m.subject === 'Cancelled: Resonance, live');
    const move = await mail.waitFor((m) => m.to.includes(keen.user.email) && m.subject.startsWith('Moved: Interference, live'));
    expect(move.text).toMatch(/It was: .*\(UTC\)/);

    expect(subjects(keen).filter((s) => s.startsWith('Starts in'))).toHaveLength(1);
    expect(subjects(keen).some((s) => s.includes('Resonance') && s.startsWith('Starts in'))).toBe(false);
    expect(subjects(quiet).some((s) => s.startsWith('Starts in'))).toBe(false);
    const quietReminder = await server.database.db
      .select()
      .from(mailOutbox)
      .where(and(eq(mailOutbox.toAddress, quiet.user.email), eq(mailOutbox.kind, 'class_reminder')));
    expect(quietReminder.map((r) => r.status)).toEqual(['dropped']);

    // Later scans (and the timer) do not remind again.
    await server.notices.scan();
    await server.mailer.drain();
    expect(subjects(keen).filter((s) => s.startsWith('Starts in'))).toHaveLength(1);
    const teacherMail = subjects(teacher).filter((s) => /Starts in|Cancelled|Moved/.test(s));
    expect(teacherMail).toEqual([]); // notices are for enrolled students
  });

  it('announces a ready replay once to each enrolled student, and the one-click unsubscribe stops the next', async () => {
    const ended = await schedule('Doppler, live', 30);
    // What the HLS service does when it finishes a recording: the row becomes ready, and it calls its hook.
    const insertReady = async () =>
      (
        await server.database.db
          .insert(recordings)
          .values({ classId: ended.id, playlistPath: 'recordings/x/master.m3u8', status: 'ready', readyAt: new Date() })
          .returning()
      )[0]!;
    const first = await insertReady();
    await server.notices.scan();
    await server.notices.scan();
    await server.mailer.drain();
    const notice = await mail.waitFor((m) => m.to.includes(keen.user.email) && m.subject === 'The replay is ready: Doppler, live');
    expect(notice.text).toContain(`${server.url}/replays/${first.id}`);
    await mail.waitFor((m) => m.to.includes(quiet.user.email) && m.subject === 'The replay is ready: Doppler, live');
    expect(subjects(keen).filter((s) => s.startsWith('The replay is ready'))).toHaveLength(1);

    // Kim uses the one-click unsubscribe of that notice; the next replay reaches Quinn only.
    const oneClick = String(notice.rawHeaders.get('list-unsubscribe')).replace(/^<|>$/g, '');
    expect((await fetch(oneClick, { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    expect((await keen.client.get('/api/account/mail-preferences')).body.topics.replays).toBe(false);
    const second = await insertReady();
    await server.notices.scan();
    await server.mailer.drain();
    const rows = await server.database.db
      .select({ to: mailOutbox.toAddress, status: mailOutbox.status })
      .from(mailOutbox)
      .where(
        and(
          eq(mailOutbox.kind, 'replay_ready'),
          inArray(
            mailOutbox.dedupeKey,
            [keen, quiet].map((p) => `replay_ready:${second.id}:${p.user.id}`),
          ),
        ),
      );
    expect(Object.fromEntries(rows.map((r) => [r.to, r.status]))).toEqual({ [keen.user.email]: 'dropped', [quiet.user.email]: 'sent' });
  });
});
