// HLS in real Chromium: a student who picks the broadcast (HLS) mode watches the live class through hls.js
// while chat keeps working; after the class, the replay page plays the recording, offers the rungs, resumes
// at the saved position and saves progress when the viewer leaves; the course page lists the replay and the
// lesson without an uploaded video plays it.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { lessonProgress, lessons, liveClasses } from '../../server/db/schema.ts';
import { launchChromium, playbackStart, PROBE, recordVideoEvents } from '../helpers/browser.ts';
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
    .evaluate((v) => (v as HTMLVideoElement).currentTime, undefined, PROBE);

/** Counts the page's progress saves still on the way (wraps fetch before the app loads). */
async function countProgressSaves(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const state = { pending: 0 };
    (window as unknown as { __progressSaves: typeof state }).__progressSaves = state;
    const original = window.fetch;
    window.fetch = function (input: RequestInfo | URL, init?: RequestInit) {
      const url = input instanceof Request ? input.url : String(input);
      if (init?.method !== 'PUT' || !url.includes('/progress')) return original.call(this, input, init);
      state.pending++;
      return original.call(this, input, init).finally(() => state.pending--);
    };
  });
}

/**
 * Pauses the player at a position whose whole second the server has not stored, with no save on the way:
 * pausing or seeking may save at once, but then the player holds the next save back for 5 s, so seeking
 * back again leaves a position only a save on leaving can bring to the server. Returns that position.
 */
async function pausedWhereServerHasNot(page: Page, serverPosition: () => Promise<number | undefined>): Promise<number> {
  const video = page.getByTestId('hls-video');
  // Resolves after the element's own events (timeupdate, which saves, then pause or seeked) have run.
  await video.evaluate(
    (v) =>
      new Promise((resolve) => {
        if ((v as HTMLVideoElement).paused) return resolve(undefined);
        v.addEventListener('pause', () => setTimeout(resolve), { once: true });
        (v as HTMLVideoElement).pause();
      }),
  );
  for (let attempt = 0; attempt < 3; attempt++) {
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __progressSaves: { pending: number } }).__progressSaves.pending))
      .toBe(0);
    const at = await videoTime(page);
    if ((await serverPosition()) !== Math.floor(at)) return at;
    await video.evaluate(
      (v) =>
        new Promise((resolve) => {
          v.addEventListener('seeked', () => setTimeout(resolve), { once: true });
          (v as HTMLVideoElement).currentTime = Math.max(0.5, (v as HTMLVideoElement).currentTime - 1.5);
        }),
    );
  }
  throw new Error('every position the player stopped at reached the server before the page left');
}

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
    const [lesson] = await server.db.insert(lessons).values({ courseId: f.courseId, position: 1, title: 'Lecture 1' }).returning();
    await server.db.update(liveClasses).set({ lessonId: lesson!.id }).where(eq(liveClasses.id, f.classId));

    const teacherPage = await (await contextFor(f.teacher)).newPage();
    await teacherPage.goto(`${server.url}/studio/${f.classId}`);
    await teacherPage.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => teacherPage.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    // The student asks for the low-bandwidth broadcast (as ?mode=hls does from a link).
    const studentPage = await (await contextFor(student)).newPage();
    const mediaRequests: string[] = [];
    studentPage.on('request', (r) => {
      if (r.url().includes('/media/')) mediaRequests.push(new URL(r.url()).pathname + new URL(r.url()).search);
    });
    await studentPage.goto(`${server.url}/classes/${f.classId}?mode=hls`);
    await expect.poll(() => studentPage.getByTestId('hls-live').count(), { timeout: 30_000 }).toBe(1);
    expect(await studentPage.getByTestId('viewer-mode').textContent()).toContain('HLS');
    await expect.poll(() => videoTime(studentPage), { timeout: 45_000 }).toBeGreaterThan(1);
    const t1 = await videoTime(studentPage);
    await expect.poll(() => videoTime(studentPage), { timeout: 15_000 }).toBeGreaterThan(t1 + 1);
    // hls.js plays it as Low-Latency HLS: blocking playlist reloads, and parts rather than only whole segments.
    expect(mediaRequests.some((u) => /\/index\.m3u8\?.*_HLS_msn=\d+/.test(u))).toBe(true);
    expect(mediaRequests.filter((u) => /-p\d+\.m4s(\?|$)/.test(u)).length, mediaRequests.slice(-8).join('\n')).toBeGreaterThan(0);

    // Chat works the same in HLS mode: the teacher sees the student's message.
    await studentPage.locator('#chat-input').fill('Hello from the broadcast');
    await studentPage.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => teacherPage.getByTestId('chat-messages').textContent(), { timeout: 15_000 })
      .toContain('Hello from the broadcast');

    // Let the class run a little longer (the student sees 7 s more of it), then end it.
    const t2 = await videoTime(studentPage);
    await expect.poll(() => videoTime(studentPage), { timeout: 30_000 }).toBeGreaterThan(t2 + 7);
    await teacherPage.getByRole('button', { name: 'End class' }).click();
    await teacherPage.getByRole('button', { name: 'Yes, end class' }).click();
    await studentPage.close();

    const recordings = await server.recordings.ofClass(f.classId);
    expect(recordings.length).toBeGreaterThanOrEqual(1);
    const recordingId = recordings[0]!.id;
    await expect.poll(async () => (await server.recordings.byId(recordingId))?.status, { timeout: 60_000, interval: 500 }).toBe('ready');
    const rec = (await server.recordings.byId(recordingId))!;
    expect(rec.lessonId).toBe(lesson!.id);
    expect(rec.durationSeconds).toBeGreaterThanOrEqual(6);

    // The student had watched up to 4 s of the replay before.
    const resumeAt = 4;
    const put = await student.client.request('PUT', `/api/lessons/${lesson!.id}/progress`, {
      positionSeconds: resumeAt,
      durationSeconds: rec.durationSeconds,
    });
    expect(put.status).toBe(200);

    const replayContext = await contextFor(student);
    await recordVideoEvents(replayContext);
    await countProgressSaves(replayContext);
    const replay = await replayContext.newPage();
    await replay.goto(`${server.url}/replays/${recordingId}`);
    // It starts at the saved position: the first position it reports while playing is already there (a
    // player that started at 0 would report that first), and it keeps playing.
    await expect.poll(() => playbackStart(replay), { timeout: 30_000 }).toBeDefined();
    const start = (await playbackStart(replay))!;
    expect(start.first).toBeGreaterThanOrEqual(resumeAt - 0.5);
    expect(start.lowest).toBeGreaterThanOrEqual(resumeAt - 0.5);
    await expect.poll(() => videoTime(replay), { timeout: 15_000 }).toBeGreaterThan(start.first + 1);
    // The quality selector offers Auto plus every rung.
    expect(await replay.getByTestId('hls-quality').locator('option').count()).toBeGreaterThanOrEqual(4);
    // The class's MP4 is made after it (its progress shown meanwhile); then the page offers it, and it is the video.
    const download = replay.getByTestId('replay-download');
    await expect.poll(() => download.getAttribute('data-status'), { timeout: 60_000, interval: 250 }).toBe('ready');
    const link = download.getByRole('link', { name: /Download MP4/ });
    const mp4 = await fetch(new URL((await link.getAttribute('href'))!, server.url), { headers: { range: 'bytes=0-1023' } });
    expect(mp4.status).toBe(206);
    expect(mp4.headers.get('content-type')).toBe('video/mp4');
    expect(
      Buffer.from(await mp4.arrayBuffer())
        .subarray(4, 8)
        .toString('latin1'),
    ).toBe('ftyp');

    // Leaving saves the position: stopped at a point the server does not have yet (no save while playing
    // reached it), the position reaches the server only when the page goes away.
    const savedPosition = async () => {
      const [row] = await server.db.select().from(lessonProgress).where(eq(lessonProgress.lessonId, lesson!.id));
      return row?.positionSeconds;
    };
    const leftAt = await pausedWhereServerHasNot(replay, savedPosition);
    await replay.close({ runBeforeUnload: true });
    await expect.poll(savedPosition, { timeout: 10_000 }).toBe(Math.floor(leftAt));

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
