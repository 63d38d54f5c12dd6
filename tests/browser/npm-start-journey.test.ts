// The first impression, exactly as the README gives it: `npm start` with no configuration, a teacher and a
// student who sign up, the teacher schedules a class and goes live from the studio in Chromium on this machine,
// and the student's page decodes the video over WebRTC (never the HLS fallback). The server's defaults decide
// the addresses: it must announce ones a browser can use.
import os from 'node:os';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.ts';
import { HttpClient, registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { npmStart, type StartedLectern } from '../helpers/npm-start.ts';
import { mediaPath, RECORD_PEER_CONNECTIONS } from '../helpers/webrtc-stats.ts';

async function contextAs(browser: Browser, url: string, person: RegisteredUser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url }]);
  await context.addInitScript(RECORD_PEER_CONNECTIONS);
  return context;
}

describe('npm start, as the README says, carries a live class over WebRTC', () => {
  let lectern: StartedLectern;
  let browser: Browser;
  beforeAll(async () => {
    [lectern, browser] = await Promise.all([npmStart(), launchChromium()]);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await lectern?.stop();
  });

  it('announces usable addresses; the teacher goes live and the student decodes the video over WebRTC, not HLS', async () => {
    expect(lectern.url).toBe('http://localhost:3000');
    const started = lectern.logs.find((l) => Array.isArray(l.announced));
    expect(started?.announced).toContain('127.0.0.1');
    expect(started?.announced).not.toContain('0.0.0.0');
    // One worker per core, each on its fixed port: 40000, 40001, ...
    const ports = Array.from({ length: os.availableParallelism() }, (_, i) => 40000 + i);
    expect(started?.ports).toEqual(ports);
    expect(String(started?.msg)).toMatch(/browsers reach WebRTC at .*127\.0\.0\.1/);

    // Sign up, a course with a class, the student enrolls: the API the pages use.
    // Without SMTP (nothing configured) the server prints each mail to its log: confirm from there, as a newcomer does.
    const confirmFromLog = async (person: RegisteredUser): Promise<void> => {
      const mailed = (): Record<string, unknown> | undefined =>
        lectern.logs.find((l) => l.to === person.user.email && /confirm your email/i.test(String(l.subject)));
      await expect.poll(() => mailed(), { timeout: 20_000 }).toBeDefined();
      const link = (mailed()!.links as string[]).find((l) => l.includes('/verify-email'))!;
      const token = new URL(link).searchParams.get('token');
      expect((await person.client.post('/api/account/verify-email', { token })).status).toBe(200);
    };
    const teacher = await registerUser(lectern.url, 'teacher', 'Grace Teacher', { verify: false });
    const student = await registerUser(lectern.url, 'student', 'Sam Student', { verify: false });
    await Promise.all([confirmFromLog(teacher), confirmFromLog(student)]);
    const course = await teacher.client.post('/api/courses', { title: 'Signals, live' });
    expect(course.status).toBe(201);
    const courseId = course.body.course.id as string;
    expect((await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Sampling and aliasing' })).status).toBe(201);
    expect((await teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const inAMinute = new Date(Date.now() + 60_000).toISOString().slice(0, 16);
    const scheduled = await teacher.client.post(`/api/courses/${courseId}/classes`, {
      title: 'Sampling',
      startsAtLocal: inAMinute,
      timeZone: 'UTC',
    });
    expect(scheduled.status).toBe(201);
    const classId = scheduled.body.liveClass.id as string;

    const teacherPage = await (await contextAs(browser, lectern.url, teacher)).newPage();
    const studentPage = await (await contextAs(browser, lectern.url, student)).newPage();
    await teacherPage.goto(`${lectern.url}/studio/${classId}`);
    await teacherPage.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => teacherPage.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    await studentPage.goto(`${lectern.url}/classes/${classId}`);
    await expect.poll(async () => (await mediaPath(studentPage)).framesDecoded, { timeout: 30_000 }).toBeGreaterThan(30);
    const before = await mediaPath(studentPage);
    await expect
      .poll(async () => (await mediaPath(studentPage)).framesDecoded, { timeout: 15_000 })
      .toBeGreaterThan(before.framesDecoded + 30);
    const path = await mediaPath(studentPage);
    // Straight to the media server: a host candidate it announced, on a worker's fixed port.
    expect(path.remote?.candidateType).toBe('host');
    expect(started?.announced).toContain(path.remote?.address);
    expect(ports).toContain(path.remote?.port);
    expect(await studentPage.getByTestId('webrtc-player').getAttribute('data-state')).toBe('connected');
    expect(await studentPage.getByTestId('hls-live').count()).toBe(0);
    expect(await studentPage.getByTestId('hls-fallback').count()).toBe(0);
    expect(lectern.logs.some((l) => l.msg === 'viewer switched to the broadcast (HLS)')).toBe(false);
    expect(lectern.logs.filter((l) => Number(l.level) >= 50)).toEqual([]);

    await Promise.all([teacherPage.context().close(), studentPage.context().close()]);
  }, 180_000);

  it('npm run seed while npm start runs adds the demo accounts through the running server, no stack trace', async () => {
    const seeded = await lectern.run('seed');
    expect(seeded.stderr).not.toMatch(/Error|\n\s+at /);
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/Demo data is ready \(added through the running server/);
    const login = await new HttpClient(lectern.url).post('/api/auth/login', {
      email: 'teacher@lectern.test',
      password: 'lectern-demo-2026',
    });
    expect(login.status).toBe(200);
  }, 120_000);
});
