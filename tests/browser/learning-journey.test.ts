// The learning journey in a real Chromium against the real server and its built app: a teacher builds a
// course (two lessons, an uploaded video, a scheduled class); a student finds it by search, enrolls, sees the
// class in "My schedule", watches a lesson halfway, leaves, comes back and resumes at the saved position;
// the teacher sees the student in the course analytics.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CourseCatalog } from '../../server/courses/course-catalog.ts';
import { LessonProgress } from '../../server/courses/lesson-progress.ts';
import { appInChromium } from '../helpers/app-in-chromium.ts';
import { contextAs, playbackStart, recordVideoEvents } from '../helpers/browser.ts';
import { dateInDays } from '../helpers/dates.ts';
import { registerUser } from '../helpers/http-client.ts';

describe('learning journey', () => {
  const app = appInChromium();
  let tmp: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-journey-'));
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function loggedIn(role: 'teacher' | 'student', name: string): Promise<{ context: BrowserContext; page: Page; userId: string }> {
    const account = await registerUser(app.server.url, role, name);
    const context = await contextAs(app.browser, app.server.url, account);
    return { context, page: await context.newPage(), userId: account.user.id };
  }

  const videoTime = (page: Page) => page.getByTestId('hls-video').evaluate((v) => (v as HTMLVideoElement).currentTime);

  it('teacher builds and schedules, student finds, enrolls, watches, resumes; teacher sees the student', async () => {
    const { server } = app;
    const tag = `orbit${Math.random().toString(36).slice(2, 7)}`;
    const video = path.join(tmp, 'lesson.mp4');
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=25:duration=10',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:duration=10',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '36',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      video,
    ]);

    // --- The teacher builds the course ----------------------------------------------------------------
    const teacher = await loggedIn('teacher', 'Tara Teacher');
    const t = teacher.page;
    await t.goto(`${server.url}/teach`);
    await t.getByLabel('Course title').fill(`Celestial mechanics ${tag}`);
    await t.getByLabel('Description').fill('Orbits, tides and the two-body problem.');
    await t.getByRole('button', { name: 'Create course' }).click();
    await t.waitForURL(/\/teach\/courses\/[0-9a-f-]{36}$/);
    const courseId = t.url().split('/').pop()!;

    for (const title of ['Kepler’s laws', 'Tides']) {
      await t.getByLabel('Lesson title').fill(title);
      await t.getByRole('button', { name: 'Add lesson' }).click();
      await expect.poll(() => t.getByTestId('lesson-list').getByRole('link', { name: title }).count()).toBe(1);
    }
    // Upload the first lesson's video and watch it become ready.
    await t.getByLabel('Upload a video').first().setInputFiles(video);
    await expect.poll(() => t.getByTestId('video-ready').count(), { timeout: 60_000 }).toBe(1);

    await t.getByRole('button', { name: 'Publish' }).click();
    await expect.poll(() => t.getByTestId('publish-state').textContent()).toBe('Published');

    // Ten days ahead, well inside the schedule page's window, whatever today is (tests/clock moves today).
    await t.getByLabel('Class title').fill('Live: the three-body problem');
    await t.getByLabel('Lesson', { exact: true }).selectOption({ label: 'Tides' });
    await t.getByLabel('Starts at').fill(`${dateInDays(10)}T18:00`);
    await t.getByLabel('Time zone').selectOption('Europe/Berlin');
    await t.getByRole('button', { name: 'Schedule class' }).click();
    await expect.poll(() => t.getByTestId('notice').textContent()).toBe('Class scheduled');

    // --- The student finds, enrolls, checks the schedule -------------------------------------------------
    const student = await loggedIn('student', 'Sid Student');
    await recordVideoEvents(student.context);
    const s = student.page;
    await s.goto(`${server.url}/courses`);
    await s.getByLabel('Search courses').fill(`${tag} orbits`);
    await s.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => s.getByTestId('catalog-total').innerText()).toContain('1 course'); // as rendered: spaces collapse
    await s.getByRole('link', { name: `Celestial mechanics ${tag}` }).click();
    await s.waitForURL(`${server.url}/courses/${courseId}`);
    await s.getByRole('button', { name: 'Enroll' }).click();
    await expect.poll(() => s.getByRole('button', { name: 'Leave course' }).count()).toBe(1);

    await s.getByRole('link', { name: 'My schedule' }).click();
    await s.waitForURL(`${server.url}/schedule`);
    await expect.poll(() => s.getByTestId('schedule-item').first().textContent()).toContain('Live: the three-body problem');
    expect(await s.getByTestId('schedule-item').first().textContent()).toContain(`Celestial mechanics ${tag}`);

    // --- Watches the first lesson halfway, leaves --------------------------------------------------------
    await s.goto(`${server.url}/courses/${courseId}`);
    await s.getByRole('link', { name: 'Kepler’s laws' }).click();
    await expect.poll(() => videoTime(s), { timeout: 30_000 }).toBeGreaterThan(5);
    const leftAt = await videoTime(s);
    await s.getByTestId('hls-video').evaluate((v) => (v as HTMLVideoElement).pause());
    await s.getByRole('link', { name: `← Celestial mechanics ${tag}` }).click();
    await s.waitForURL(`${server.url}/courses/${courseId}`);

    const lessons = await new CourseCatalog(server.db).lessons(courseId);
    await expect
      .poll(async () => (await new LessonProgress(server.db).get(student.userId, lessons[0]!.id))?.positionSeconds ?? 0)
      .toBeGreaterThanOrEqual(5);
    const saved = (await new LessonProgress(server.db).get(student.userId, lessons[0]!.id))!;
    expect(saved.completed).toBe(false);
    expect(saved.positionSeconds).toBeLessThanOrEqual(Math.ceil(leftAt));

    // --- Returns and resumes at the saved position ------------------------------------------------------
    await s.reload();
    await expect.poll(() => s.getByTestId('continue').textContent()).toContain('Continue where you left off');
    await s.getByTestId('continue').click();
    await s.waitForURL(`${server.url}/courses/${courseId}/lessons/${lessons[0]!.id}`);
    await expect.poll(() => s.getByTestId('lesson-progress').textContent()).toContain('resumed from');
    // It starts at the saved point: the first position the player reports while playing (since the reload)
    // is already there; a player that started at 0 and caught up later would report 0 first.
    await expect.poll(() => playbackStart(s), { timeout: 30_000 }).toBeDefined();
    const start = (await playbackStart(s))!;
    expect(start.first).toBeGreaterThanOrEqual(saved.positionSeconds - 0.5);
    expect(start.lowest).toBeGreaterThanOrEqual(saved.positionSeconds - 0.5);

    // --- The teacher sees the student in the analytics ---------------------------------------------------
    await t.goto(`${server.url}/teach/courses/${courseId}/analytics`);
    await expect.poll(() => t.getByTestId('enrolled-count').textContent()).toBe('1');
    const row = t.getByTestId('students').getByRole('row', { name: /Sid Student/ });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toMatch(/0 \/ 2/);

    await teacher.context.close();
    await student.context.close();
  }, 180_000);
});
