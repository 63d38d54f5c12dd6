// Course invitations through the real server and a real SMTP server: a new invitee registers through the link
// and is enrolled, an existing one is enrolled on accepting, pending invitations are listed and revocable,
// requests and days are bounded, and the one-click unsubscribe stops further invitations.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailOutbox } from '../../server/db/schema.ts';
import { HttpClient, registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { linkIn, sharedMailCatcher, type CaughtMail, type MailCatcher } from '../helpers/mail-catcher.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('course invitations', () => {
  let server: TestServer;
  let mail: MailCatcher;
  let teacher: RegisteredUser;
  let courseId: string;
  const address = (name: string) => `${name}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}@example.test`;
  const invitationTo = (email: string) => mail.waitFor((m) => m.to.includes(email) && /invites you/.test(m.subject));
  const tokenOf = (m: CaughtMail) => linkIn(m, `${server.url}/invitations/accept`).searchParams.get('token')!;

  beforeAll(async () => {
    [server, mail] = await Promise.all([
      startTestServer({ env: { LECTERN_INVITES_PER_REQUEST: '4', LECTERN_INVITES_PER_DAY: '7' } }),
      sharedMailCatcher(),
    ]);
    teacher = await registerUser(server.url, 'teacher', 'Ines Inviter');
    courseId = (await teacher.client.post('/api/courses', { title: 'Invited Algebra' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Groups' });
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
  });
  afterAll(() => server?.stop());

  it('lets a new invitee register through the link and be enrolled, with a confirmed address', async () => {
    const newcomer = address('newcomer');
    const res = await teacher.client.post(`/api/courses/${courseId}/invitations`, { addresses: `Nora New <${newcomer}>\nnot-an-address` });
    expect(res.status).toBe(201);
    expect(res.body.invited).toEqual([newcomer]);
    expect(res.body.invalid).toEqual(['not-an-address']);
    const message = await invitationTo(newcomer);
    expect(message.subject).toBe('Ines Inviter invites you to “Invited Algebra” on Lectern');
    expect(String(message.rawHeaders.get('list-unsubscribe'))).toContain(`${server.url}/mail/unsubscribe?token=`);
    expect(message.rawHeaders.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');

    const visitor = new HttpClient(server.url);
    const view = await visitor.get(`/api/invitations/${tokenOf(message)}`);
    expect(view.body.invitation).toMatchObject({
      status: 'pending',
      email: newcomer,
      courseTitle: 'Invited Algebra',
      accountExists: false,
    });
    const joined = await visitor.post('/api/invitations/register', {
      token: tokenOf(message),
      displayName: 'Nora New',
      password: 'a good long password',
    });
    expect(joined.status).toBe(201);
    expect(joined.body.user).toMatchObject({ email: newcomer, emailVerified: true, role: 'student' });
    expect(joined.body.courseId).toBe(courseId);
    expect((await visitor.get(`/api/courses/${courseId}`)).body.role).toBe('student');
    // The link worked once.
    const again = await new HttpClient(server.url).post('/api/invitations/register', {
      token: tokenOf(message),
      displayName: 'Nora Again',
      password: 'a good long password',
    });
    expect(again.status).toBe(404);
  });

  it('enrolls an existing account on accepting, and only the account of the invited address', async () => {
    const student = await registerUser(server.url, 'student', 'Eli Existing', { verify: false });
    const other = await registerUser(server.url, 'student', 'Otto Other');
    const res = await teacher.client.post(`/api/courses/${courseId}/invitations`, { addresses: student.user.email });
    expect(res.body.invited).toEqual([student.user.email]);
    const token = tokenOf(await invitationTo(student.user.email));
    expect((await student.client.get(`/api/invitations/${token}`)).body.invitation.accountExists).toBe(true);

    const wrong = await other.client.post('/api/invitations/accept', { token });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe('wrong_account');
    expect((await new HttpClient(server.url).post('/api/invitations/accept', { token })).status).toBe(401);

    const accepted = await student.client.post('/api/invitations/accept', { token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.courseId).toBe(courseId);
    expect((await student.client.get(`/api/courses/${courseId}`)).body.role).toBe('student');
    // The invitation came to the address, so accepting confirmed it.
    expect((await student.client.get('/api/auth/me')).body.user.emailVerified).toBe(true);
    // Enrolled now: inviting again is skipped.
    const repeat = await teacher.client.post(`/api/courses/${courseId}/invitations`, { addresses: student.user.email });
    expect(repeat.body).toMatchObject({ invited: [], alreadyEnrolled: [student.user.email] });
  });

  it('lists and revokes pending invitations, bounds requests and days, and only the course editors invite', async () => {
    const [a, b] = [address('pending-a'), address('pending-b')];
    await teacher.client.post(`/api/courses/${courseId}/invitations`, { addresses: `${a}, ${b}` });
    const list = await teacher.client.get(`/api/courses/${courseId}/invitations`);
    const pending = list.body.invitations.filter((i: { email: string }) => i.email === a || i.email === b);
    expect(pending).toHaveLength(2);
    const revokedOne = pending.find((i: { email: string }) => i.email === a);
    const revokedMail = await invitationTo(a);
    // A JSON body, as the page sends (a body-less DELETE counts as text/plain for the CSRF check, like a form).
    const revoke = await teacher.client.request('DELETE', `/api/courses/${courseId}/invitations/${revokedOne.id}`, {});
    expect(revoke.body).toEqual({ revoked: true });
    const after = await teacher.client.get(`/api/courses/${courseId}/invitations`);
    expect(after.body.invitations.map((i: { email: string }) => i.email)).not.toContain(a);
    const stale = await new HttpClient(server.url).get(`/api/invitations/${tokenOf(revokedMail)}`);
    expect(stale.status).toBe(404);
    // Inviting b again the same day mails nothing new.
    const twice = await teacher.client.post(`/api/courses/${courseId}/invitations`, { addresses: b });
    expect(twice.body).toMatchObject({ invited: [], alreadyInvited: [b] });

    const tooMany = await teacher.client.post(`/api/courses/${courseId}/invitations`, {
      addresses: [1, 2, 3, 4, 5].map((i) => address(`bulk${i}`)).join('\n'),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.code).toBe('too_many');
    // Today so far: newcomer, existing, a, b = 4 of 7; three more fit, a fourth does not.
    const three = await teacher.client.post(`/api/courses/${courseId}/invitations`, {
      addresses: [1, 2, 3].map((i) => address(`day${i}`)).join(' '),
    });
    expect(three.status).toBe(201);
    expect(three.body.remainingToday).toBe(0);
    const overDay = await teacher.client.post(`/api/courses/${courseId}/invitations`, { addresses: address('late') });
    expect(overDay.status).toBe(429);
    expect(overDay.body.error.code).toBe('daily_limit');

    const student = await registerUser(server.url, 'student', 'Sly Student');
    expect((await student.client.post(`/api/courses/${courseId}/invitations`, { addresses: address('x') })).status).toBe(403);
    expect((await student.client.get(`/api/courses/${courseId}/invitations`)).status).toBe(403);
  });

  it('stops invitations to an address that used the one-click unsubscribe', async () => {
    const other = await registerUser(server.url, 'teacher', 'Second Teacher');
    const otherCourse = (await other.client.post('/api/courses', { title: 'Other course' })).body.course.id;
    await other.client.post(`/api/courses/${otherCourse}/lessons`, { title: 'One' });
    await other.client.patch(`/api/courses/${otherCourse}`, { published: true });
    const target = address('optout');
    await other.client.post(`/api/courses/${otherCourse}/invitations`, { addresses: target });
    const first = await invitationTo(target);
    // What a mail client does with List-Unsubscribe-Post: a form POST from its own servers, no cookie, no origin.
    const header = String(first.rawHeaders.get('list-unsubscribe')).replace(/^<|>$/g, '');
    const oneClick = await fetch(header, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);

    const third = await registerUser(server.url, 'teacher', 'Third Teacher');
    const thirdCourse = (await third.client.post('/api/courses', { title: 'Third course' })).body.course.id;
    await third.client.post(`/api/courses/${thirdCourse}/lessons`, { title: 'One' });
    await third.client.patch(`/api/courses/${thirdCourse}`, { published: true });
    await third.client.post(`/api/courses/${thirdCourse}/invitations`, { addresses: target });
    await server.mailer.drain();
    const rows = await server.database.db.select().from(mailOutbox).where(eq(mailOutbox.toAddress, target)).orderBy(mailOutbox.createdAt);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'dropped']);
    expect(mail.to(target)).toHaveLength(1);
  });
});
