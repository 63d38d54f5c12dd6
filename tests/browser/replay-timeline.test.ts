// The class beside its replay, in real Chromium. A replay recorded in two runs with the class going on between
// them: its chat, questions and polls are listed at their moments, choosing one plays the video from there, the
// highlighted item follows playback and is scrolled into view, chapters seek and are the video's chapters track,
// and the teacher adds one at the current position. Then a real live class: chapters the teacher marks with the
// studio's button appear on its replay, at the moment they were marked.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chatMessages, liveClasses, pollOptions, polls, questions } from '../../server/db/schema.ts';
import { readRunTimes } from '../../server/hls/run-output.ts';
import { appInChromium } from '../helpers/app-in-chromium.ts';
import { contextAs, PROBE } from '../helpers/browser.ts';
import { registerPeople } from '../helpers/people.ts';
import { recordRuns } from '../helpers/recorded-class.ts';
import { createLiveClass } from '../sfu/fixtures.ts';

/** How far from its target a seek may land (a player seeks to the frame at or after the target). */
const SEEK_TOLERANCE = 0.75;

const videoTime = (page: Page): Promise<number> =>
  page.getByTestId('hls-video').evaluate((v) => (v as HTMLVideoElement).currentTime, undefined, PROBE);
const currentItem = (page: Page) => page.locator('[data-testid="timeline-item"][data-current="true"]').getAttribute('data-id', PROBE);

describe('replay timeline in the browser', () => {
  const app = appInChromium();

  it('lists the class at its moments, seeks where an item happened, follows playback, and seeks by chapter', async () => {
    const { server, browser } = app;
    const { teacher, student } = await registerPeople(server);
    const courseId = (await teacher.client.post('/api/courses', { title: 'Optics in time' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lenses' });
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    // Run 0 from T0 for 8 s; the class went on 32 s unrecorded; run 1 from T0 + 40 s for 6 s: a 14 s replay.
    const T0 = Date.now() - 600_000;
    const at = (seconds: number) => new Date(T0 + seconds * 1000);
    const [klass] = await server.db
      .insert(liveClasses)
      .values({ courseId, teacherId: teacher.user.id, title: 'Lenses, live', scheduledAt: at(-60), startedAt: at(0), status: 'ended' })
      .returning();
    const classId = klass!.id;
    const recording = await recordRuns(server, classId, [
      { seconds: 8, startedAt: at(0) },
      { seconds: 6, startedAt: at(40) },
    ]);
    // A busy start (more chat than the list shows at once), then a question, a poll and chat in the second run.
    await server.db
      .insert(chatMessages)
      .values(
        Array.from({ length: 24 }, (_, i) => ({ classId, userId: student.user.id, body: `Warming up ${i}`, createdAt: at(0.05 * i) })),
      );
    const [hello] = await server.db
      .insert(chatMessages)
      .values({ classId, userId: student.user.id, body: 'Can everyone hear the teacher?', createdAt: at(1.5) })
      .returning();
    const [question] = await server.db
      .insert(questions)
      .values({
        classId,
        userId: student.user.id,
        body: 'What is a focal length?',
        voteCount: 3,
        status: 'answered',
        createdAt: at(4),
        answeredAt: at(6),
      })
      .returning();
    const [poll] = await server.db
      .insert(polls)
      .values({
        classId,
        createdBy: teacher.user.id,
        question: 'Which lens is thicker in the middle?',
        showResults: true,
        createdAt: at(42),
      })
      .returning();
    await server.db.insert(pollOptions).values(['Convex', 'Concave'].map((label, position) => ({ pollId: poll!.id, position, label })));
    const [late] = await server.db
      .insert(chatMessages)
      .values({ classId, userId: teacher.user.id, body: 'Welcome back after the break', createdAt: at(44) })
      .returning();
    const chapter = async (title: string, atSeconds: number) =>
      (await teacher.client.request('POST', `/api/media/recordings/${recording.id}/chapters`, { title, atSeconds }, { origin: server.url }))
        .body.chapter;
    await chapter('Welcome', 0);
    const second = await chapter('After the break', 8.5);

    const context = await contextAs(browser, server.url, student, { viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/replays/${recording.id}`);
    const items = page.getByTestId('timeline-item');
    await expect.poll(() => items.count(), { timeout: 30_000 }).toBe(28);
    await expect.poll(() => videoTime(page), { timeout: 30_000 }).toBeGreaterThan(0);
    const item = (id: string) => page.locator(`[data-testid="timeline-item"][data-id="${id}"]`);
    expect(await item(question!.id).textContent()).toContain('3 votes');
    expect(await item(question!.id).textContent()).toContain('Answered at 0:06');
    expect(await item(poll!.id).textContent()).toContain('Which lens is thicker in the middle?');
    expect(await item(late!.id).textContent()).toContain('0:12');
    expect(await page.getByTestId('gap-marker').count()).toBe(1);
    // The interruption's marker plays from where the second run begins.
    await page.getByTestId('gap-marker').click();
    await expect.poll(() => videoTime(page)).toBeGreaterThanOrEqual(7.5);
    expect(await videoTime(page)).toBeLessThan(8 + SEEK_TOLERANCE);

    // Choosing a chat message plays from its moment; it is the highlighted item.
    await item(hello!.id).getByRole('button').first().click();
    await expect.poll(() => videoTime(page)).toBeGreaterThanOrEqual(1.5);
    expect(await videoTime(page)).toBeLessThan(1.5 + SEEK_TOLERANCE);
    await expect.poll(() => currentItem(page)).toBe(hello!.id);
    // As it plays, the highlight moves on to the question (asked at 0:04), which the list scrolls into view.
    await expect.poll(() => currentItem(page), { timeout: 15_000 }).toBe(question!.id);
    // (An item is current from a quarter second before its moment: a seek to it may land just short.)
    expect(await videoTime(page)).toBeGreaterThanOrEqual(3.75);
    const inView = () =>
      page.getByTestId('timeline-item').evaluateAll((els, id) => {
        const el = els.find((e) => (e as HTMLElement).dataset.id === id)!;
        const list = el.parentElement!.getBoundingClientRect();
        const box = el.getBoundingClientRect();
        return box.top >= list.top - 1 && box.bottom <= list.bottom + 1;
      }, question!.id);
    await expect.poll(inView).toBe(true);

    // A poll of the second run: 8 s of run 0, then 2 s into run 1.
    await item(poll!.id).getByRole('button').first().click();
    await expect.poll(() => videoTime(page)).toBeGreaterThanOrEqual(10);
    expect(await videoTime(page)).toBeLessThan(10 + SEEK_TOLERANCE);
    await expect.poll(() => currentItem(page)).toBe(poll!.id);

    // Chapters: the list and the bar seek; the current chapter is marked; the player has them as its chapters track.
    const chapters = page.getByTestId('chapter');
    expect(await chapters.allTextContents()).toEqual([expect.stringContaining('Welcome'), expect.stringContaining('After the break')]);
    expect(await chapters.nth(1).getAttribute('data-current')).toBe('true');
    await chapters.nth(0).getByRole('button').first().click();
    await expect.poll(() => videoTime(page)).toBeLessThan(SEEK_TOLERANCE);
    await expect.poll(() => chapters.nth(0).getAttribute('data-current')).toBe('true');
    await page.getByTestId('chapter-marker').nth(1).click();
    await expect.poll(() => videoTime(page)).toBeGreaterThanOrEqual(second.atSeconds);
    expect(await videoTime(page)).toBeLessThan(second.atSeconds + SEEK_TOLERANCE);
    const chapterCues = () =>
      page.evaluate(() => {
        const track = [...(document.querySelector('video')?.textTracks ?? [])].find((t) => t.kind === 'chapters');
        if (!track) return null;
        track.mode = 'hidden'; // a chapters track loads its cues once it is not disabled
        return [...(track.cues ?? [])].map((c) => [(c as VTTCue).text, c.startTime]);
      });
    await expect.poll(chapterCues, { timeout: 15_000 }).toEqual([
      ['Welcome', 0],
      ['After the break', 8.5],
    ]);
    // A student has no chapter editing.
    expect(await page.getByTestId('add-chapter').count()).toBe(0);
    await context.close();

    // The teacher adds a chapter where the replay is.
    const teacherContext = await contextAs(browser, server.url, teacher, { viewport: { width: 1400, height: 900 } });
    const teacherPage = await teacherContext.newPage();
    await teacherPage.goto(`${server.url}/replays/${recording.id}`);
    await expect.poll(() => teacherPage.getByTestId('timeline-item').count(), { timeout: 30_000 }).toBe(28);
    await teacherPage.locator(`[data-testid="timeline-item"][data-id="${question!.id}"]`).getByRole('button').first().click();
    await expect.poll(() => videoTime(teacherPage)).toBeGreaterThanOrEqual(4);
    await teacherPage.getByTestId('hls-video').evaluate((v) => (v as HTMLVideoElement).pause());
    const pausedAt = await videoTime(teacherPage);
    await teacherPage.getByLabel('New chapter title').fill('Focal length');
    await teacherPage.getByTestId('add-chapter').click();
    await expect.poll(() => teacherPage.getByTestId('chapter').allTextContents()).toHaveLength(3);
    const added = (await teacher.client.get(`/api/media/recordings/${recording.id}/timeline`)).body.chapters[1];
    expect(added.title).toBe('Focal length');
    expect(Math.abs(added.atSeconds - pausedAt)).toBeLessThanOrEqual(0.1);
    await teacherContext.close();
  });

  it('shows the chapters the teacher marked in the studio on the replay, where they were marked', async () => {
    const { server, browser } = app;
    const f = await createLiveClass(server, { students: 1 });
    const teacherContext = await contextAs(browser, server.url, f.teacher, { viewport: { width: 1400, height: 900 } });
    const studio = await teacherContext.newPage();
    await studio.goto(`${server.url}/studio/${f.classId}`);
    await studio.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => studio.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    // The class is being recorded: a few seconds of it on disk before the first mark.
    const recordedSeconds = async () => {
      const recordingId = server.liveHls.recordingOf(f.classId);
      const where = recordingId ? await server.recordings.location(recordingId) : undefined;
      const times = where ? await readRunTimes((name) => server.mediaStorage.readText(`${where.prefix}/${name}`)) : null;
      return times ? times.runs.reduce((sum, run) => sum + run.durationSeconds, 0) : 0;
    };
    await expect.poll(recordedSeconds, { timeout: 45_000 }).toBeGreaterThan(3);
    await studio.getByLabel('Chapter title').fill('Fourier series');
    await studio.getByTestId('mark-chapter').click();
    await expect.poll(() => studio.getByTestId('chapter-marked').textContent()).toContain('Fourier series');
    const markedAfter = await recordedSeconds();
    await expect.poll(recordedSeconds, { timeout: 30_000 }).toBeGreaterThan(markedAfter + 3);
    await studio.getByTestId('mark-chapter').click();
    await expect.poll(() => studio.getByTestId('chapter-marked').textContent()).toContain('Chapter 2');
    // What is on disk trails the class by a segment and the encoder: well past the second mark before ending.
    await expect.poll(recordedSeconds, { timeout: 30_000 }).toBeGreaterThan(markedAfter + 8);
    await studio.getByRole('button', { name: 'End class' }).click();
    await studio.getByRole('button', { name: 'Yes, end class' }).click();
    const [recording] = await server.recordings.ofClass(f.classId);
    await expect.poll(async () => (await server.recordings.byId(recording!.id))?.status, { timeout: 60_000, interval: 500 }).toBe('ready');

    const replay = await teacherContext.newPage();
    await replay.goto(`${server.url}/replays/${recording!.id}`);
    const chapters = replay.getByTestId('chapter');
    await expect.poll(() => chapters.count(), { timeout: 30_000 }).toBe(2);
    expect(await chapters.allTextContents()).toEqual([expect.stringContaining('Fourier series'), expect.stringContaining('Chapter 2')]);
    const timeline = (await f.teacher.client.get(`/api/media/recordings/${recording!.id}/timeline`)).body;
    const [first, second] = timeline.chapters as { atSeconds: number }[];
    // Marked with 3 s or more recorded before; the second 3 s or more after the first, well before the end.
    expect(first!.atSeconds).toBeGreaterThan(2);
    expect(second!.atSeconds - first!.atSeconds).toBeGreaterThan(2);
    expect(timeline.durationSeconds - second!.atSeconds).toBeGreaterThan(1);
    await replay.getByTestId('chapter-marker').nth(1).click();
    await expect.poll(() => videoTime(replay), { timeout: 15_000 }).toBeGreaterThanOrEqual(second!.atSeconds);
    expect(await videoTime(replay)).toBeLessThan(second!.atSeconds + SEEK_TOLERANCE);
    await teacherContext.close();
  });
});
