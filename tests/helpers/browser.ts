// Debian's Chromium driven by playwright-core, with a fake camera and microphone.
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { RegisteredUser } from './http-client.ts';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
];
/** Answers every camera/microphone prompt with "allow", as if the user had clicked it. */
const ACCEPT_DEVICE_PROMPTS = '--use-fake-ui-for-media-stream';
/** Lets pages play sound before any user gesture. */
const AUTOPLAY_WITHOUT_GESTURE = '--autoplay-policy=no-user-gesture-required';

/**
 * How the browser treats the page, beyond the flags every test browser has. The defaults suit most tests
 * (devices allowed, sound plays at once); `browserDefaults` gives the page what a user's Chrome does: sound
 * only after a gesture, and camera/microphone only when permitted (a test answers with grantPermissions or
 * denyDevices).
 */
export interface ChromiumPolicies {
  browserDefaults?: boolean;
}

export function launchChromium(extraArgs: string[] = [], policies: ChromiumPolicies = {}): Promise<Browser> {
  const policyFlags = policies.browserDefaults ? [] : [ACCEPT_DEVICE_PROMPTS, AUTOPLAY_WITHOUT_GESTURE];
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...CHROMIUM_FLAGS, ...policyFlags, ...extraArgs],
  });
}

/**
 * Denies camera and microphone to `origin` in the page's browser context, as a user who clicked "Block" (or a
 * site setting) does: getUserMedia then fails with NotAllowedError, without a prompt.
 */
export async function denyDevices(page: Page, origin: string): Promise<void> {
  const pageSession = await page.context().newCDPSession(page);
  const { targetInfo } = await pageSession.send('Target.getTargetInfo');
  await pageSession.detach();
  const browserSession = await page.context().browser()!.newBrowserCDPSession();
  for (const name of ['camera', 'microphone'])
    await browserSession.send('Browser.setPermission', {
      permission: { name },
      setting: 'denied',
      origin,
      browserContextId: targetInfo.browserContextId,
    });
  await browserSession.detach();
}

/** A browser context logged in as `person`: their session cookie for the server at `url`. */
export async function contextAs(
  browser: Browser,
  url: string,
  person: RegisteredUser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url, httpOnly: true, sameSite: 'Lax' }]);
  return context;
}

/** One media event of a <video> on the page, with the position the element reported with it. */
export interface VideoEvent {
  type: 'loadedmetadata' | 'seeking' | 'playing' | 'timeupdate';
  currentTime: number;
  paused: boolean;
}

/**
 * Records the media events of every <video> on the context's pages from their first moment on (media events do
 * not bubble, but a capturing listener on the document sees them), so a test can read the first position a
 * player reported, not only where it is by the time the test looks.
 */
export async function recordVideoEvents(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const log: { type: string; currentTime: number; paused: boolean }[] = [];
    (window as unknown as { __videoEvents: typeof log }).__videoEvents = log;
    for (const type of ['loadedmetadata', 'seeking', 'playing', 'timeupdate']) {
      document.addEventListener(
        type,
        (e) => {
          if (e.target instanceof HTMLVideoElement) log.push({ type, currentTime: e.target.currentTime, paused: e.target.paused });
        },
        true,
      );
    }
  });
}

/** The events recorded on `page` so far (recordVideoEvents on its context first). */
export function videoEvents(page: Page): Promise<VideoEvent[]> {
  return page.evaluate(() => (window as unknown as { __videoEvents: VideoEvent[] }).__videoEvents);
}

/**
 * Where playback began: the position of the first `playing` event, and the lowest position reported after it.
 * A player that starts at 0 and seeks later reports 0 here, however far it gets afterwards.
 */
export async function playbackStart(page: Page): Promise<{ first: number; lowest: number } | undefined> {
  const events = await videoEvents(page);
  const start = events.findIndex((e) => e.type === 'playing');
  if (start < 0) return undefined;
  const after = events.slice(start).filter((e) => e.type !== 'seeking');
  return { first: events[start]!.currentTime, lowest: Math.min(...after.map((e) => e.currentTime)) };
}

/**
 * Options for a probe that expect.poll calls again and again: it fails fast with its reason (an element not
 * there yet, a closed page), and expect.poll reports the last such reason if it never comes right, instead of
 * a stand-in value hiding it or one call waiting out the poll on the page's default timeout.
 */
export const PROBE = { timeout: 2000 };

/** Frames the page's first teacher video has presented (its data-frames counter); 0 while there is none (a page reloading). */
export const teacherVideoFrames = (page: Page): Promise<number> =>
  page
    .getByTestId('teacher-video')
    .first()
    .evaluate((v) => Number((v as HTMLVideoElement).dataset.frames ?? 0), undefined, PROBE)
    .catch(() => 0);

/**
 * The same server under its other loopback name (localhost for 127.0.0.1 and back): another origin for the
 * browser, and both are secure contexts.
 */
export function otherOrigin(url: string): string {
  return url.includes('127.0.0.1') ? url.replace('127.0.0.1', 'localhost') : url.replace('localhost', '127.0.0.1');
}

/** The first text track of the page's video as the player has it (kind, label, language, mode, its cues' text); null for none. */
export function firstTextTrack(page: Page) {
  return page.evaluate(() => {
    const t = document.querySelector('video')?.textTracks[0];
    return t
      ? { kind: t.kind, label: t.label, language: t.language, mode: t.mode, cues: [...(t.cues ?? [])].map((c) => (c as VTTCue).text) }
      : null;
  });
}
