// The class in a browser as it comes, without the test flags that let every page play sound and open devices:
// - autoplay: the student's page may not start the teacher's sound before the student touches the page, so it
//   offers "Tap to unmute" (the picture plays meanwhile), and one tap starts the sound;
// - a camera and microphone the teacher has blocked: the studio says so in words they can act on, the page
//   keeps working (the class can still go live), and once allowed, "Try again" opens them and broadcasts.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextAs, denyDevices, launchChromium, PROBE } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createLiveClass, type ClassFixture, type Person } from '../sfu/fixtures.ts';

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium([], { browserDefaults: true })]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page of `person`'s, with every uncaught error it throws kept in `errors`. */
async function pageOf(person: Person): Promise<{ page: Page; context: BrowserContext; errors: string[] }> {
  const context = await contextAs(browser, server.url, person, { viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, context, errors };
}

/**
 * Evaluates expressions in the page over a CDP session of its own, without the user gesture that Playwright's
 * evaluate and locators grant the page (the autoplay policy counts that as the user's first tap).
 */
async function quietProbe(page: Page): Promise<<T>(expression: string) => Promise<T>> {
  const cdp = await page.context().newCDPSession(page);
  return async <T>(expression: string): Promise<T> => {
    const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression, returnByValue: true });
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value as T;
  };
}

const frames = (page: Page, testid: string): Promise<number> =>
  page
    .getByTestId(testid)
    .first()
    .evaluate((v) => Number((v as HTMLVideoElement).dataset.frames ?? 0), undefined, PROBE);

/** Each remote <audio> of the page: whether it is paused and how far it has played. */
const audioElements = (page: Page): Promise<{ paused: boolean; currentTime: number }[]> =>
  page
    .getByTestId('remote-audio')
    .evaluateAll((els) =>
      els.map((el) => ({ paused: (el as HTMLAudioElement).paused, currentTime: (el as HTMLAudioElement).currentTime })),
    );

async function goLive(teacher: Page, f: ClassFixture): Promise<void> {
  await teacher.goto(`${server.url}/studio/${f.classId}`);
  await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
}

describe('a browser without the test flags', () => {
  it('autoplay policy: the student is offered "Tap to unmute" while the picture plays, and the tap starts the sound', async () => {
    const f = await createLiveClass(server, { title: 'Autoplay' });
    const teacher = await pageOf(f.teacher);
    // The teacher allows camera and microphone (as a click on the prompt's "Allow" would).
    await teacher.context.grantPermissions(['camera', 'microphone'], { origin: server.url });
    await goLive(teacher.page, f);
    await expect.poll(() => teacher.page.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    const student = await pageOf(f.students[0]!);
    // Read through a CDP session of our own: Playwright's evaluations count as a user gesture, which would
    // unlock the sound before the test looks.
    const probe = await quietProbe(student.page);
    await student.page.goto(`${server.url}/classes/${f.classId}`);
    // The picture plays (muted video may autoplay) ...
    await expect
      .poll(() => probe<number>(`Number(document.querySelector('[data-testid="teacher-video"]')?.dataset.frames ?? 0)`), {
        timeout: 30_000,
      })
      .toBeGreaterThan(10);
    // ... the sound arrived but the browser would not start it: the page asks for a tap.
    await expect
      .poll(() => probe<number>(`document.querySelectorAll('[data-testid="tap-to-unmute"]').length`), { timeout: 20_000 })
      .toBe(1);
    const blocked = await probe<{ paused: boolean }[]>(
      `[...document.querySelectorAll('[data-testid="remote-audio"]')].map((a) => ({ paused: a.paused }))`,
    );
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.every((a) => a.paused)).toBe(true);
    expect(await probe<boolean>('navigator.userActivation.hasBeenActive')).toBe(false);

    await student.page.getByTestId('tap-to-unmute').click();
    await expect.poll(() => student.page.getByTestId('tap-to-unmute').count()).toBe(0);
    await expect.poll(async () => (await audioElements(student.page)).every((a) => !a.paused)).toBe(true);
    const started = Math.min(...(await audioElements(student.page)).map((a) => a.currentTime));
    await expect
      .poll(async () => Math.min(...(await audioElements(student.page)).map((a) => a.currentTime)))
      .toBeGreaterThan(started + 0.5);

    expect(teacher.errors).toEqual([]);
    expect(student.errors).toEqual([]);
    await Promise.all([teacher.context.close(), student.context.close()]);
  });

  it('blocked camera and microphone: the studio says so, still goes live, and "Try again" broadcasts them once allowed', async () => {
    const f = await createLiveClass(server, { title: 'Blocked devices' });
    const teacher = await pageOf(f.teacher);
    await denyDevices(teacher.page, server.url);
    await goLive(teacher.page, f);

    await expect.poll(() => teacher.page.getByTestId('camera-error').textContent()).toContain('no permission to use your camera');
    await expect.poll(() => teacher.page.getByTestId('mic-error').textContent()).toContain('no permission to use your microphone');
    // The class is live, with nothing to broadcast yet, and the studio says that rather than "Live".
    await expect.poll(() => teacher.page.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('paused');
    const student = await pageOf(f.students[0]!);
    await student.page.goto(`${server.url}/classes/${f.classId}`);
    await expect.poll(() => student.page.getByTestId('class-phase').getAttribute('data-phase'), { timeout: 15_000 }).toBe('live');
    expect(server.rooms.get(f.classId)!.mediaSources()).toEqual([]);

    // The teacher allows them in the address bar and tries again: the camera and microphone are broadcast.
    await teacher.context.grantPermissions(['camera', 'microphone'], { origin: server.url });
    await teacher.page.getByTestId('camera-error').getByRole('button', { name: 'Try again' }).click();
    await teacher.page.getByTestId('mic-error').getByRole('button', { name: 'Try again' }).click();
    await expect.poll(() => teacher.page.getByTestId('camera-error').count()).toBe(0);
    await expect.poll(() => teacher.page.getByTestId('mic-error').count()).toBe(0);
    await expect.poll(() => teacher.page.getByTestId('studio-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('live');
    await expect
      .poll(
        () =>
          server.rooms
            .get(f.classId)!
            .mediaSources()
            .map((s) => s.source)
            .sort(),
        { timeout: 20_000 },
      )
      .toEqual(['camera', 'mic']);
    await expect.poll(() => frames(student.page, 'teacher-video'), { timeout: 30_000 }).toBeGreaterThan(10);

    expect(teacher.errors).toEqual([]);
    expect(student.errors).toEqual([]);
    await Promise.all([teacher.context.close(), student.context.close()]);
  });
});
