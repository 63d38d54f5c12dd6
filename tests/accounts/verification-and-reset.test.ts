// Confirming an address and resetting a password through the mail a real SMTP server receives, on PGlite
// and on the PostgreSQL server: links work once and expire, a reset ends every other session, unverified
// accounts may log in but not enroll or teach, and "forgot password" answers the same, doing the same work,
// whether or not an account uses the address.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountTokens, mailOutbox } from '../../server/db/schema.ts';
import { dbKinds } from '../helpers/databases.ts';
import { HttpClient, registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { linkIn, sharedMailCatcher, type MailCatcher } from '../helpers/mail-catcher.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(await dbKinds())('verification and password reset on %s', (kind) => {
  let server: TestServer;
  let mail: MailCatcher;
  beforeAll(async () => {
    [server, mail] = await Promise.all([startTestServer({ db: kind }), sharedMailCatcher()]);
  });
  afterAll(() => server?.stop());

  const newest = (address: string, subject: RegExp) =>
    mail
      .waitFor((m) => m.to.includes(address) && subject.test(m.subject) && !seen.has(m.messageId))
      .then((m) => {
        seen.add(m.messageId);
        return m;
      });
  const seen = new Set<string>();
  const tokenOf = (m: Awaited<ReturnType<typeof newest>>, page: string) => linkIn(m, `${server.url}/${page}`).searchParams.get('token')!;
  /** Moves the user's outstanding tokens past their lifetime, as if the link sat in the inbox too long. */
  const ageTokens = (userId: string, purpose: 'verify_email' | 'reset_password') =>
    server.database.db
      .update(accountTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(and(eq(accountTokens.userId, userId), eq(accountTokens.purpose, purpose)));

  it('mails a confirmation link at registration that works once and expires; resending is rate-limited', async () => {
    const person = await registerUser(server.url, 'student', 'Vera Verify', { verify: false });
    expect(person.user.emailVerified).toBe(false);
    const first = await newest(person.user.email, /confirm your email/i);
    expect(first.html).toContain('Confirm my address');
    expect(first.rawHeaders.has('list-unsubscribe')).toBe(false); // account mail cannot be turned off

    // A second link, aged past its lifetime before use.
    expect((await person.client.post('/api/account/verification')).status).toBe(202);
    const second = await newest(person.user.email, /confirm your email/i);
    await ageTokens(person.user.id, 'verify_email');
    const expired = await new HttpClient(server.url).post('/api/account/verify-email', { token: tokenOf(second, 'verify-email') });
    expect(expired.status).toBe(410);
    expect(expired.body.error.code).toBe('link_expired');

    expect((await person.client.post('/api/account/verification')).status).toBe(202);
    const third = await newest(person.user.email, /confirm your email/i);
    const ok = await new HttpClient(server.url).post('/api/account/verify-email', { token: tokenOf(third, 'verify-email') });
    expect(ok.status).toBe(200);
    expect((await person.client.get('/api/auth/me')).body.user.emailVerified).toBe(true);
    const again = await new HttpClient(server.url).post('/api/account/verify-email', { token: tokenOf(third, 'verify-email') });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('invalid_link');
    // The first link died with the confirmation; a verified account is not sent more.
    expect((await new HttpClient(server.url).post('/api/account/verify-email', { token: tokenOf(first, 'verify-email') })).status).toBe(
      400,
    );
    expect((await person.client.post('/api/account/verification')).body).toEqual({ sent: false, emailVerified: true });

    const other = await registerUser(server.url, 'student', 'Rita Resend', { verify: false });
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await other.client.post('/api/account/verification')).status);
    expect(codes).toEqual([202, 202, 202, 429]);
  });

  it('lets an unverified account log in but not teach or enroll until it confirms its address', async () => {
    const teacher = await registerUser(server.url, 'teacher', 'Una Unverified', { verify: false });
    const student = await registerUser(server.url, 'student', 'Sid Unverified', { verify: false });
    const login = await new HttpClient(server.url).post('/api/auth/login', { email: teacher.user.email, password: teacher.password });
    expect(login.status).toBe(200);
    expect(login.body.user.emailVerified).toBe(false);

    const refused = await teacher.client.post('/api/courses', { title: 'Too early' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('email_unverified');
    const verify = async (p: RegisteredUser) => {
      const m = await newest(p.user.email, /confirm your email/i);
      expect((await p.client.post('/api/account/verify-email', { token: tokenOf(m, 'verify-email') })).status).toBe(200);
    };
    await verify(teacher);
    const course = await teacher.client.post('/api/courses', { title: 'Now verified' });
    expect(course.status).toBe(201);
    const courseId = course.body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'One' });
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });

    const enroll = await student.client.post(`/api/courses/${courseId}/enrollment`);
    expect(enroll.status).toBe(403);
    expect(enroll.body.error.code).toBe('email_unverified');
    await verify(student);
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
  });

  it('resets a password by a link that works once and expires, ending every other session', async () => {
    const person = await registerUser(server.url, 'student', 'Petra Password');
    const laptop = new HttpClient(server.url);
    expect((await laptop.post('/api/auth/login', { email: person.user.email, password: person.password })).status).toBe(200);

    expect((await new HttpClient(server.url).post('/api/account/forgot-password', { email: person.user.email.toUpperCase() })).status).toBe(
      202,
    );
    const first = await newest(person.user.email, /reset your lectern password/i);
    await ageTokens(person.user.id, 'reset_password');
    const phone = new HttpClient(server.url);
    const late = await phone.post('/api/account/reset-password', {
      token: tokenOf(first, 'reset-password'),
      password: 'a brand new password',
    });
    expect(late.status).toBe(410);

    await new HttpClient(server.url).post('/api/account/forgot-password', { email: person.user.email });
    const second = await newest(person.user.email, /reset your lectern password/i);
    const reset = await phone.post('/api/account/reset-password', {
      token: tokenOf(second, 'reset-password'),
      password: 'a brand new password',
    });
    expect(reset.status).toBe(200);
    expect(reset.body.user.id).toBe(person.user.id);
    // The browser that reset is logged in; every other session of the account ended.
    expect((await phone.get('/api/auth/me')).status).toBe(200);
    expect((await person.client.get('/api/auth/me')).status).toBe(401);
    expect((await laptop.get('/api/auth/me')).status).toBe(401);
    const reused = await new HttpClient(server.url).post('/api/account/reset-password', {
      token: tokenOf(second, 'reset-password'),
      password: 'yet another password',
    });
    expect(reused.status).toBe(400);
    expect((await new HttpClient(server.url).post('/api/auth/login', { email: person.user.email, password: person.password })).status).toBe(
      401,
    );
    expect(
      (await new HttpClient(server.url).post('/api/auth/login', { email: person.user.email, password: 'a brand new password' })).status,
    ).toBe(200);
  });

  it('answers "forgot password" the same, doing the same work, whether or not an account uses the address', async () => {
    const people = await Promise.all([0, 1].map((i) => registerUser(server.url, 'student', `Known ${i}`)));
    const unknown = [0, 1].map((i) => `nobody-${i}-${Date.now()}@example.test`);
    const known = people.map((p) => p.user.email);
    const outboxRows = (address: string) =>
      server.database.db
        .select()
        .from(mailOutbox)
        .where(and(eq(mailOutbox.toAddress, address), eq(mailOutbox.kind, 'password_reset')));

    // Interleaved, so that both paths meet the same machine load.
    const timings: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] };
    const answers = new Set<string>();
    for (let round = 0; round < 4; round++) {
      for (const [path, addresses] of [
        ['known', known],
        ['unknown', unknown],
      ] as const) {
        for (const email of addresses) {
          const started = performance.now();
          const res = await new HttpClient(server.url).post('/api/account/forgot-password', { email });
          timings[path].push(performance.now() - started);
          answers.add(JSON.stringify({ status: res.status, body: res.body }));
        }
      }
    }
    expect([...answers]).toHaveLength(1);
    expect(JSON.parse([...answers][0]!).status).toBe(202);

    // The same work: each request queued exactly one row of the same shape; the lookup happens when sending.
    await server.mailer.drain();
    const shape = (rows: Awaited<ReturnType<typeof outboxRows>>) =>
      rows.map((r) => ({ kind: r.kind, params: r.params, dedupeKey: r.dedupeKey }));
    for (const address of [...known, ...unknown]) {
      const rows = await outboxRows(address);
      expect(shape(rows)).toEqual(Array(4).fill({ kind: 'password_reset', params: {}, dedupeKey: null }));
      expect(new Set(rows.map((r) => r.status))).toEqual(new Set([known.includes(address) ? 'sent' : 'dropped']));
    }
    for (const address of unknown) expect(mail.to(address)).toHaveLength(0);
    for (const address of known) await newest(address, /reset your lectern password/i);

    // Similar timing, compared loosely (same run, interleaved): medians within a factor of three.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(timings.known) / median(timings.unknown);
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });
});
