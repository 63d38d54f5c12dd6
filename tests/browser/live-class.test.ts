// A live class end to end in real Chromium: the teacher goes live from the studio with a fake camera and
// microphone, a student's classroom decodes the video and receives the audio through the real SFU, the screen
// share appears, the class ends for the student, and someone not enrolled is turned away. All of it under the
// pages' Content-Security-Policy, which blocks nothing the pages do.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PROBE } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createLiveClass, type Person } from '../sfu/fixtures.ts';

/** Keeps every RTCPeerConnection the page makes, so the test can read its statistics. */
const RECORD_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();`;

/** Keeps every Content-Security-Policy violation the page reports. */
const RECORD_CSP_VIOLATIONS = `(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber + ' ' + location.pathname);
  });
})();`;

const cspViolations = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);

async function contextFor(browser: Browser, server: TestServer, person: Person): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url: server.url }]);
  await context.addInitScript(RECORD_PEER_CONNECTIONS);
  await context.addInitScript(RECORD_CSP_VIOLATIONS);
  return context;
}

const frames = (page: Page, testid: string): Promise<number> =>
  page
    .getByTestId(testid)
    .first()
    .evaluate((v) => Number((v as HTMLVideoElement).dataset.frames ?? 0), undefined, PROBE);

const inboundAudioBytes = (page: Page): Promise<number> =>
  page.evaluate(async () => {
    let bytes = 0;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived ?? 0;
      });
    }
    return bytes;
  });

describe('live class in the browser', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startTestServer({ app: 'build' }),
      launchChromium(['--auto-select-desktop-capture-source=Entire screen', '--enable-usermedia-screen-capturing']),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('teacher goes live; the student sees and hears it, sees the screen share and the end; an outsider is refused', async () => {
    const f = await createLiveClass(server);
    const teacher = await (await contextFor(browser, server, f.teacher)).newPage();
    const student = await (await contextFor(browser, server, f.students[0]!)).newPage();
    if (process.env.DEBUG_PAGES)
      for (const [n, p] of [
        ['teacher', teacher],
        ['student', student],
      ] as const) {
        p.on('console', (m) => console.log(n, m.type(), m.text()));
        p.on('pageerror', (e) => console.log(n, 'pageerror', e.message));
      }

    // The student arrives early and waits.
    await student.goto(`${server.url}/classes/${f.classId}`);
    await expect.poll(() => student.getByTestId('class-waiting').count()).toBe(1);

    const studio = await teacher.goto(`${server.url}/studio/${f.classId}`);
    // The policy is there (with SvelteKit's nonce for its own scripts), and the studio is not to be framed.
    const csp = (await studio!.allHeaders())['content-security-policy'];
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(csp).toContain("frame-ancestors 'none'");
    await expect.poll(() => frames(teacher, 'camera-preview'), { timeout: 15_000 }).toBeGreaterThan(5);
    await expect.poll(() => teacher.getByTestId('mic-level').count()).toBe(1);
    await teacher.getByRole('button', { name: 'Go live' }).click();
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('live');

    // Video: decoded frames keep coming. Audio: received bytes keep growing.
    await expect.poll(() => student.getByTestId('class-phase').getAttribute('data-phase'), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => frames(student, 'teacher-video'), { timeout: 20_000 }).toBeGreaterThan(10);
    const framesBefore = await frames(student, 'teacher-video');
    await expect.poll(() => frames(student, 'teacher-video'), { timeout: 10_000 }).toBeGreaterThan(framesBefore + 20);
    await expect.poll(() => inboundAudioBytes(student), { timeout: 15_000 }).toBeGreaterThan(0);
    const audioBefore = await inboundAudioBytes(student);
    await expect.poll(() => inboundAudioBytes(student), { timeout: 10_000 }).toBeGreaterThan(audioBefore + 1000);
    await expect.poll(() => teacher.getByTestId('viewer-count').textContent()).toContain('1 watching');

    // Screen share: it appears large on the student's page, with the camera inset.
    await teacher.getByRole('button', { name: 'Share screen' }).click();
    await expect.poll(() => frames(teacher, 'screen-preview'), { timeout: 15_000 }).toBeGreaterThan(0);
    await expect.poll(() => frames(student, 'screen-video'), { timeout: 20_000 }).toBeGreaterThan(3);
    expect(await student.getByTestId('teacher-video').count()).toBe(1);
    await teacher.getByRole('button', { name: 'Stop sharing' }).click();
    await expect.poll(() => student.getByTestId('screen-video').count(), { timeout: 10_000 }).toBe(0);

    // Someone not enrolled is refused, by the page and by the socket.
    const outsider = await (await contextFor(browser, server, f.outsider)).newPage();
    await outsider.goto(`${server.url}/classes/${f.classId}`);
    await expect.poll(() => outsider.getByTestId('refused').count()).toBe(1);
    expect(await outsider.getByTestId('teacher-video').count()).toBe(0);

    // The teacher ends the class: the student sees it, and the SFU room is gone.
    await teacher.getByRole('button', { name: 'End class' }).click();
    await teacher.getByRole('button', { name: 'Yes, end class' }).click();
    await expect.poll(() => student.getByTestId('class-ended').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state')).toBe('ended');
    expect(server.rooms.get(f.classId)).toBeUndefined();
    for (const page of [teacher, student, outsider]) expect(await cspViolations(page)).toEqual([]);

    await Promise.all([teacher.context().close(), student.context().close(), outsider.context().close()]);
  });
});
