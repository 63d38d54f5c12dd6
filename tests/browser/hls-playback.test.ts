// HLS in real Chromium: a student who picks the broadcast (HLS) mode watches the live class through hls.js
// while chat keeps working; after the class, the replay page plays the recording, offers the rungs, resumes
// at the saved position and saves progress when the viewer leaves; the course page lists the replay and the
// lesson without an uploaded video plays it.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { lessonProgress, lessons, liveClasses } from '../../server/db/schema.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createLiveClass, type Person } from '../sfu/fixtures.ts';

let server: TestServer;
let browser: Browser;

async function contextFor(person: Person): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url: server.url }]);
  return context;
}

const videoTime = (page: Page): Promise<number> =>
  page
    .getByTestId('hls-video')
    .first()
    .evaluate((v) => (v as HTMLVideoElement).currentTime)
    .catch(() => -1);

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('HLS in the browser', () => {
  it('a student forced to HLS plays the live class while chat works; the replay resumes at the saved position', async () => {
    const f = await createLiveClass(server, { students: 1 });
    const student = f.students[0]!;
    const [lesson] = await server.services.db.insert(lessons).values({ courseId: f.courseId, position: 1, title: 'Lecture 1' }).returning();
    await server.services.db.update(liveClasses).set({ lessonId: lesson!.id }).where(eq(liveClasses.id, f.classId));

    const teacherPage = await (await contextFor(f.teacher)).newPage();
    await teacherPage.goto(`${server.url}/studio/${f.classId}`);
    await teacherPage.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => teacherPage.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    // The student asks for the low-bandwidth broadcast (as ?mode=hls does from a link).
    const studentPage = await (await contextFor(student)).newPage();
    await studentPage.goto(`${server.url}/classes/${f.classId}?mode=hls`);
    await expect.poll(() => studentPage.getByTestId('hls-live').count(), { timeout: 30_000 }).toBe(1);
    expect(await studentPage.getByTestId('viewer-mode').textContent()).toContain('HLS');
    await expect.poll(() => videoTime(studentPage), { timeout: 45_000 }).toBeGreaterThan(1);
    const t1 = await videoTime(studentPage);
    await expect.poll(() => videoTime(studentPage), { timeout: 15_000 }).toBeGreaterThan(t1 + 1);

    // Chat works the same in HLS mode: the teacher sees the student's message.
    await studentPage.locator('#chat-input').fill('Hello from the broadcast');
    await studentPage.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => teacherPage.getByTestId('chat-messages').textContent(), { timeout: 15_000 })
      .toContain('Hello from the broadcast');

    // Let the class run a little longer, then end it.
    await studentPage.waitForTimeout(6000);
    await teacherPage.getByRole('button', { name: 'End class' }).click();
    await teacherPage.getByRole('button', { name: 'Yes, end class' }).click();
    await studentPage.close();

    const recordings = await server.services.hls.recordingsOfClass(f.classId);
    expect(recordings.length).toBeGreaterThanOrEqual(1);
    const recordingId = recordings[0]!.id;
    await expect
      .poll(async () => (await server.services.hls.recording(recordingId))?.status, { timeout: 60_000, interval: 500 })
      .toBe('ready');
    const rec = (await server.services.hls.recording(recordingId))!;
    expect(rec.lessonId).toBe(lesson!.id);
    expect(rec.durationSeconds).toBeGreaterThanOrEqual(6);

    // The student had watched up to 4 s of the replay before.
    const resumeAt = 4;
    const put = await student.client.request('PUT', `/api/lessons/${lesson!.id}/progress`, {
      positionSeconds: resumeAt,
      durationSeconds: rec.durationSeconds,
    });
    expect(put.status).toBe(200);

    const replay = await (await contextFor(student)).newPage();
    await replay.goto(`${server.url}/replays/${recordingId}`);
    await expect.poll(() => videoTime(replay), { timeout: 30_000 }).toBeGreaterThanOrEqual(resumeAt - 0.5);
    // It starts at the saved position, not at 0, and keeps playing.
    const first = await videoTime(replay);
    expect(first).toBeGreaterThanOrEqual(resumeAt - 0.5);
    await expect.poll(() => videoTime(replay), { timeout: 15_000 }).toBeGreaterThan(first + 1);
    // The quality selector offers Auto plus every rung.
    expect(await replay.getByTestId('hls-quality').locator('option').count()).toBeGreaterThanOrEqual(4);
    const watchedTo = await videoTime(replay);
    await replay.close({ runBeforeUnload: true });
    await expect
      .poll(
        async () => {
          const [row] = await server.services.db.select().from(lessonProgress).where(eq(lessonProgress.lessonId, lesson!.id));
          return row?.positionSeconds ?? 0;
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThanOrEqual(Math.floor(watchedTo) - 1);

    // The course page lists the replay with its thumbnail and length, and the lesson links to it...
    const coursePage = await (await contextFor(student)).newPage();
    await coursePage.goto(`${server.url}/courses/${f.courseId}`);
    const card = coursePage.getByTestId('replay').first();
    await expect.poll(() => card.getByRole('link').getAttribute('href'), { timeout: 15_000 }).toBe(`/replays/${recordingId}`);
    expect(await card.textContent()).toContain('Replay');
    await expect
      .poll(() => card.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth), { timeout: 10_000 })
      .toBeGreaterThan(0);
    expect(await coursePage.getByTestId('lesson-replay').getAttribute('href')).toBe(`/replays/${recordingId}`);
    // ...and the lesson, which has no uploaded video, plays the recording of its live class.
    await coursePage.getByRole('link', { name: 'Lecture 1', exact: true }).click();
    await coursePage.waitForURL(`**/courses/${f.courseId}/lessons/${lesson!.id}`);
    expect(await coursePage.getByTestId('lesson-replay').getAttribute('href')).toBe(`/replays/${recordingId}`);
    await expect.poll(() => videoTime(coursePage), { timeout: 30_000 }).toBeGreaterThan(0);
    const lessonT = await videoTime(coursePage);
    await expect.poll(() => videoTime(coursePage), { timeout: 15_000 }).toBeGreaterThan(lessonT + 1);
    // The replay page leads back to its lesson and course.
    await coursePage.goto(`${server.url}/replays/${recordingId}`);
    const back = coursePage.getByTestId('replay-back');
    await expect
      .poll(() => back.getByRole('link', { name: /Lesson/ }).getAttribute('href'), { timeout: 15_000 })
      .toBe(`/courses/${f.courseId}/lessons/${lesson!.id}`);
    expect(await back.getByRole('link', { name: /Course/ }).getAttribute('href')).toBe(`/courses/${f.courseId}`);
    await coursePage.context().close();
    await teacherPage.context().close();
  });
});
